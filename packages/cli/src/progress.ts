/** A one-line progress bar for long jobs (rewrites the line on a TTY, prints lines otherwise). */
export class Progress {
  private readonly total: number;
  private readonly label: string;
  private readonly tty: boolean;
  private readonly out: NodeJS.WriteStream;
  private lastLine = 0;

  constructor(label: string, total: number, out: NodeJS.WriteStream = process.stderr) {
    this.label = label;
    this.total = total;
    this.out = out;
    this.tty = Boolean(out.isTTY);
  }

  update(done: number, info = ''): void {
    const width = 24;
    const filled = Math.round((done / this.total) * width);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    const line = `${this.label} ${bar} ${done}/${this.total} ${info}`;
    if (this.tty) this.out.write(`\r${line}\x1b[K`);
    else if (done === this.total || Date.now() - this.lastLine > 2000) {
      this.out.write(`${line}\n`);
      this.lastLine = Date.now();
    }
  }

  done(): void {
    if (this.tty) this.out.write('\n');
  }
}
