import net from 'node:net';

/**
 * A lean HTTP/1.1 keep-alive client for load generation: one request at a time per
 * connection, requests written as one string, responses parsed just enough (status,
 * Content-Length or chunked body). Node's `http` client costs the load generator about as
 * much CPU per request as the server spends handling it, so on a 2-core machine it, not the
 * server, would set the pace of a closed-loop benchmark (measured: the server sat idle a
 * fifth of the time). Benchmarks only; never used by the product.
 */
export interface LeanResponse {
  readonly status: number;
  readonly body: Buffer;
}

const CRLF2 = Buffer.from('\r\n\r\n');
/**
 * Idle connections older than this are closed, not reused: below the server's keep-alive
 * timeout (`KEEP_ALIVE_MS`, 95 s; Node's default is 5 s, for servers that keep it).
 */
const IDLE_MS = 60_000;

export class LeanConnection {
  private readonly socket: net.Socket;
  private readonly ready: Promise<void>;
  private buffer: Buffer = Buffer.alloc(0);
  private pending: {
    resolve: (r: LeanResponse) => void;
    reject: (e: Error) => void;
  } | null = null;
  private failure: Error | null = null;
  private lastUsed = performance.now();
  /**
   * The server closed it or it failed: not to be reused. Nor is a connection idle for
   * longer than `IDLE_MS`: the server closes it after its keep-alive timeout, and a request
   * written as that close crosses it fails with ECONNRESET.
   */
  get usable(): boolean {
    return this.failure === null && performance.now() - this.lastUsed < IDLE_MS;
  }

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {
    this.socket = net.connect({ host, port, noDelay: true });
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
    this.socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.parse();
    });
    const fail = (e: Error) => {
      this.failure = e;
      this.pending?.reject(e);
      this.pending = null;
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => fail(new Error('connection closed')));
  }

  async request(
    method: string,
    path: string,
    body: string,
    headers: Record<string, string> = {},
  ): Promise<LeanResponse> {
    await this.ready;
    if (this.failure) throw this.failure;
    if (this.pending) throw new Error('one request at a time per connection');
    let head = `${method} ${path} HTTP/1.1\r\nhost: ${this.host}:${this.port}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n`;
    for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(`${head}\r\n${body}`);
    });
  }

  private parse(): void {
    if (!this.pending) return;
    const end = this.buffer.indexOf(CRLF2);
    if (end < 0) return;
    const head = this.buffer.toString('latin1', 0, end);
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    const start = end + 4;
    let body: Buffer;
    let rest: Buffer;
    if (length) {
      const n = Number(length[1]);
      if (this.buffer.length < start + n) return;
      body = this.buffer.subarray(start, start + n);
      rest = this.buffer.subarray(start + n);
    } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      const chunks: Buffer[] = [];
      let at = start;
      for (;;) {
        const lineEnd = this.buffer.indexOf('\r\n', at);
        if (lineEnd < 0) return;
        const size = parseInt(this.buffer.toString('latin1', at, lineEnd), 16);
        if (this.buffer.length < lineEnd + 2 + size + 2) return;
        if (size === 0) {
          at = lineEnd + 4;
          break;
        }
        chunks.push(this.buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size + 2;
      }
      body = Buffer.concat(chunks);
      rest = this.buffer.subarray(at);
    } else if (status === 204 || status === 304) {
      body = Buffer.alloc(0);
      rest = this.buffer.subarray(start);
    } else {
      this.pending.reject(new Error(`response without a length: ${head.split('\r\n')[0]}`));
      this.pending = null;
      return;
    }
    this.buffer = rest.length === 0 ? Buffer.alloc(0) : Buffer.from(rest);
    const { resolve } = this.pending;
    this.pending = null;
    this.lastUsed = performance.now();
    resolve({ status, body });
  }

  close(): void {
    this.pending = null;
    this.socket.destroy();
  }
}

/** A pool of lean connections to one server: a request takes an idle one or opens one. */
export class LeanClient {
  private readonly idle: LeanConnection[] = [];
  private readonly all = new Set<LeanConnection>();
  private readonly host: string;
  private readonly port: number;

  constructor(base: string) {
    const url = new URL(base);
    this.host = url.hostname;
    this.port = Number(url.port);
  }

  async request(
    method: string,
    path: string,
    body: string,
    headers: Record<string, string> = {},
  ): Promise<LeanResponse> {
    let c = this.idle.pop();
    while (c && !c.usable) {
      this.all.delete(c);
      c.close();
      c = this.idle.pop();
    }
    if (!c) {
      c = new LeanConnection(this.host, this.port);
      this.all.add(c);
    }
    try {
      const r = await c.request(method, path, body, headers);
      this.idle.push(c);
      return r;
    } catch (e) {
      this.all.delete(c);
      c.close();
      throw e;
    }
  }

  /** Closes the idle connections; one busy with a request is left to finish. */
  closeIdle(): void {
    for (const c of this.idle) {
      this.all.delete(c);
      c.close();
    }
    this.idle.length = 0;
  }

  close(): void {
    for (const c of this.all) c.close();
    this.all.clear();
    this.idle.length = 0;
  }
}

/**
 * A device's open poke stream (`GET /sync/stream`), as every Floorsync device holds one:
 * read and counted, nothing more. Benchmarks open one per device so that what the server
 * does for listeners (a poke to each after commits) is part of what they measure.
 */
export class LeanPokeStream {
  private readonly socket: net.Socket;
  private count = 0;
  private buffer = '';
  constructor(base: string, ticket: string, onPoke?: (head: number) => void) {
    const url = new URL(base);
    this.socket = net.connect({ host: url.hostname, port: Number(url.port), noDelay: true });
    this.socket.write(
      `GET /sync/stream?ticket=${encodeURIComponent(ticket)} HTTP/1.1\r\nhost: ${url.host}\r\naccept: text/event-stream\r\n\r\n`,
    );
    this.socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('latin1');
      // Frames end with a blank line; chunked-encoding size lines in between do not matter.
      let at: number;
      while ((at = this.buffer.indexOf('\n\n')) >= 0) {
        const frame = this.buffer.slice(0, at);
        this.buffer = this.buffer.slice(at + 2);
        const head = /event: poke\ndata: \{"head":(\d+)\}/.exec(frame)?.[1];
        if (head !== undefined) {
          this.count++;
          onPoke?.(Number(head));
        }
      }
    });
    this.socket.on('error', () => undefined);
  }
  /** Pokes received so far (the one at connect included). */
  get pokes(): number {
    return this.count;
  }
  close(): void {
    this.socket.destroy();
  }
}
