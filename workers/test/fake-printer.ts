import net from 'node:net';

/**
 * A fake network label printer for tests: a TCP server on 127.0.0.1 (a free port) that
 * records every byte each connection sends and answers `~HS` as a Zebra printer does — three
 * `<STX>…<ETX><CR><LF>` lines — in the state the test sets, or misbehaves as asked.
 */
export type FakePrinterMode =
  | 'ready'
  | 'paper-out'
  | 'head-open'
  | 'paused'
  /** Takes everything, answers nothing. */
  | 'silent'
  /** Closes the connection when `~HS` arrives, without an answer. */
  | 'hang-up'
  /** Answers `~HS` with something that is not a host status. */
  | 'garbled'
  /** Resets the connection as the job's first bytes arrive (power cut, Wi-Fi gone). */
  | 'drop';

export interface FakePrinter {
  readonly port: number;
  mode: FakePrinterMode;
  /** The bytes of each connection, in order, as received. */
  readonly connections: Buffer[];
  /** Every byte received, all connections. */
  received(): Buffer;
  close(): Promise<void>;
}

const frame = (line: string) => `\x02${line}\x03\r\n`;

/** A host status as a ZD420 in tear-off mode answers it, with the flags of `mode`. */
export function hostStatusReply(mode: FakePrinterMode): string {
  const paperOut = mode === 'paper-out' ? 1 : 0;
  const paused = mode === 'paused' ? 1 : 0;
  const headUp = mode === 'head-open' ? 1 : 0;
  return (
    frame(`030,${paperOut},${paused},1218,000,0,0,0,000,0,0,0`) +
    frame(`000,0,${headUp},0,0,2,6,0,00000000,1,000`) +
    frame('1234,0')
  );
}

export async function startFakePrinter(mode: FakePrinterMode = 'ready'): Promise<FakePrinter> {
  const connections: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const printer = {
    port: 0,
    mode,
    connections,
    received: () => Buffer.concat(connections),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const index = connections.push(Buffer.alloc(0)) - 1;
    let answered = false;
    socket.on('data', (chunk: Buffer) => {
      connections[index] = Buffer.concat([connections[index] ?? Buffer.alloc(0), chunk]);
      if (printer.mode === 'drop') {
        socket.resetAndDestroy();
        return;
      }
      if (answered || !(connections[index]?.includes('~HS') ?? false)) return;
      answered = true;
      switch (printer.mode) {
        case 'silent':
          return;
        case 'hang-up':
          socket.end();
          return;
        case 'garbled':
          socket.write('\x02?\x03\r\n\x02?\x03\r\n\x02?\x03\r\n');
          return;
        default: {
          // In two pieces, as a slow printer may send it.
          const reply = hostStatusReply(printer.mode);
          socket.write(reply.slice(0, 20));
          setTimeout(() => socket.write(reply.slice(20)), 10);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  printer.port = (server.address() as net.AddressInfo).port;
  return printer;
}

/** A port on 127.0.0.1 where nothing listens (a server bound, then closed). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
