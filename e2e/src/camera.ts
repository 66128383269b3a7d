import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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

const EAN_L = [
  '0001101',
  '0011001',
  '0010011',
  '0111101',
  '0100011',
  '0110001',
  '0101111',
  '0111011',
  '0110111',
  '0001011',
];
const EAN_PARITY = [
  'LLLLLL',
  'LLGLGG',
  'LLGGLG',
  'LLGGGL',
  'LGLLGG',
  'LGGLLG',
  'LGGGLL',
  'LGLGLG',
  'LGLGGL',
  'LGGLGL',
];
const invert = (bits: string) => bits.replace(/./g, (b) => (b === '1' ? '0' : '1'));

/** The 95 modules of an EAN-13 (dark: true), check digit verified. */
export function ean13Modules(code: string): boolean[] {
  if (!/^\d{13}$/.test(code)) throw new Error(`not an EAN-13: ${code}`);
  const d = [...code].map(Number);
  const sum = d.slice(0, 12).reduce((s, x, i) => s + x * (i % 2 ? 3 : 1), 0);
  if ((10 - (sum % 10)) % 10 !== d[12]) throw new Error(`bad EAN-13 check digit: ${code}`);
  const parity = EAN_PARITY[d[0]!]!;
  let bits = '101';
  for (let i = 1; i <= 6; i++) {
    const l = EAN_L[d[i]!]!;
    bits += parity[i - 1] === 'L' ? l : [...invert(l)].reverse().join('');
  }
  bits += '01010';
  for (let i = 7; i <= 12; i++) bits += invert(EAN_L[d[i]!]!);
  bits += '101';
  return [...bits].map((b) => b === '1');
}

/** A Y4M clip of an EAN-13 in the centre, bars as wide as fit in the middle square. */
export function y4mOfEan13(code: string): Buffer {
  const m = ean13Modules(code);
  const px = Math.floor((HEIGHT * 0.8) / (m.length + 18));
  const x0 = Math.floor((WIDTH - m.length * px) / 2);
  const y0 = Math.floor(HEIGHT * 0.25);
  const luma = Buffer.alloc(WIDTH * HEIGHT, WHITE);
  for (let y = y0; y < HEIGHT - y0; y++)
    m.forEach((dark, i) => {
      if (dark) luma.fill(BLACK, y * WIDTH + x0 + i * px, y * WIDTH + x0 + (i + 1) * px);
    });
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
  readonly dir: string;
  constructor(dir = path.join(tmpdir(), `floorsync-camera-${process.pid}-${Date.now()}`)) {
    mkdirSync(dir, { recursive: true });
    this.dir = dir;
    this.file = path.join(dir, 'camera.y4m');
    this.show('');
  }

  /** The next capture sees the QR code of `code` (an empty code: a blank white picture). */
  show(code: string, symbology: 'qr' | 'ean13' = 'qr'): void {
    const next = `${this.file}.next`;
    const clip =
      code === ''
        ? y4m(Buffer.alloc(WIDTH * HEIGHT, WHITE))
        : symbology === 'ean13'
          ? y4mOfEan13(code)
          : y4mOfQr(code);
    writeFileSync(next, clip);
    renameSync(next, this.file);
  }

  /** Deletes the clip (a few MB) and its folder. */
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
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
