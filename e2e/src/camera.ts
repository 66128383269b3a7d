import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import QRCode from 'qrcode';

/**
 * A fake camera for Chromium: `--use-file-for-fake-video-capture=<file>` plays a Y4M
 * (YUV4MPEG2) clip as the only video input, in a loop. Chromium opens the file afresh each
 * time a capture starts, so pointing the camera at another code is: replace the file
 * (write aside, rename over it) while no capture is running.
 */

/** 16:9 and at least 576 lines: the barcode plugin's web scanner asks for height ≥ 576. */
export const WIDTH = 1280;
export const HEIGHT = 720;
const FPS = 10;
const FRAMES = 3;
/** Video ("limited range") luma: 16 is black, 235 white. */
const BLACK = 16;
const WHITE = 235;

/** The QR code of a text as rows of dark (true) and light modules, without the quiet zone. */
export function qrModules(text: string): boolean[][] {
  const { modules } = QRCode.create(text, { errorCorrectionLevel: 'M' });
  return Array.from({ length: modules.size }, (_, r) =>
    Array.from({ length: modules.size }, (_, c) => Boolean(modules.get(r, c))),
  );
}

/**
 * One Y4M clip of a white frame with the QR code of `text` in its centre: a quiet zone of 4
 * modules, and as big as fits in the middle square of the frame (the scanner decodes only a
 * centred square of the picture).
 */
export function y4mOfQr(text: string): Buffer {
  const m = qrModules(text);
  const side = m.length + 8;
  const px = Math.floor((HEIGHT * 0.8) / side);
  const x0 = Math.floor((WIDTH - m.length * px) / 2);
  const y0 = Math.floor((HEIGHT - m.length * px) / 2);
  const luma = Buffer.alloc(WIDTH * HEIGHT, WHITE);
  for (let r = 0; r < m.length; r++) {
    for (let c = 0; c < m.length; c++) {
      if (!m[r]![c]) continue;
      for (let y = y0 + r * px; y < y0 + (r + 1) * px; y++)
        luma.fill(BLACK, y * WIDTH + x0 + c * px, y * WIDTH + x0 + (c + 1) * px);
    }
  }
  return y4m(luma);
}

/** 4:2:0 frames of grey (chroma neutral), the same picture `FRAMES` times. */
function y4m(luma: Buffer): Buffer {
  const chroma = Buffer.alloc((WIDTH / 2) * (HEIGHT / 2) * 2, 128);
  const frame = Buffer.concat([Buffer.from('FRAME\n'), luma, chroma]);
  return Buffer.concat([
    Buffer.from(`YUV4MPEG2 W${WIDTH} H${HEIGHT} F${FPS}:1 Ip A1:1 C420jpeg\n`),
    ...Array.from({ length: FRAMES }, () => frame),
  ]);
}

/** A camera file Chromium can be started with; `show` points it at a code. */
export class FakeCamera {
  readonly file: string;
  constructor(dir = path.join(tmpdir(), `floorsync-camera-${process.pid}-${Date.now()}`)) {
    mkdirSync(dir, { recursive: true });
    this.file = path.join(dir, 'camera.y4m');
    this.show('');
  }

  /** The next capture sees the QR code of `code` (an empty code: a blank white picture). */
  show(code: string): void {
    const next = `${this.file}.next`;
    writeFileSync(next, code === '' ? y4m(Buffer.alloc(WIDTH * HEIGHT, WHITE)) : y4mOfQr(code));
    renameSync(next, this.file);
  }

  /** Chromium's flags for this camera: fake devices, no permission prompt, this clip. */
  get args(): string[] {
    return [
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      `--use-file-for-fake-video-capture=${this.file}`,
    ];
  }
}
