export { main } from './main.js';
export { parseArgs, parseBytes, fmtBytes } from './args.js';
export { lineChartSvg, type Series } from './chart.js';
export { Progress } from './progress.js';
export { loadModel, modelKind, type LoadedModel, type ModelKind } from './load-model.js';
export { ortKernels, ORT_MALLOC_ENV, ortMallocTuned } from './borrowed-ort.js';
export { tfjsWasmKernels } from './borrowed.js';
