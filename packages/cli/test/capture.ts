import { afterEach, beforeEach, vi } from 'vitest';

/** Captures what commands print (console.log) for the tests of a file; progress bars on stderr are muted. */
export function captureOutput(): { text(): string; clear(): void } {
  const lines: string[] = [];
  beforeEach(() => {
    lines.length = 0;
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => vi.restoreAllMocks());
  return { text: () => lines.join('\n'), clear: () => void (lines.length = 0) };
}
