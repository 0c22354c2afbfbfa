export { main, parseArgs } from './main.js';
export { lineChartSvg, type Series } from './chart.js';
export { Progress } from './progress.js';
