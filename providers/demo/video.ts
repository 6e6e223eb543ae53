import { codedSize, encodeMp4, type Frame } from "./mp4";

// The demo's video: a sun crossing a gradient sky along an arc, colours chosen by the caller.
// Rendered frame by frame in RGB, converted to 4:2:0 YCbCr and encoded as an H.264 MP4.

export type Rgb = [number, number, number];

export type SunVideo = {
  width: number;
  height: number;
  seconds: number;
  fps: number;
  sky: [Rgb, Rgb];
  sun: Rgb;
  /** Sun radius as a fraction of the shorter side. */
  radius: number;
};

/** BT.601 limited range, as decoders assume when the stream says nothing about colour. */
function toY(r: number, g: number, b: number): number {
  return Math.round(16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255);
}
function toCb(r: number, g: number, b: number): number {
  return Math.round(128 + (-37.797 * r - 74.203 * g + 112 * b) / 255);
}
function toCr(r: number, g: number, b: number): number {
  return Math.round(128 + (112 * r - 93.786 * g - 18.214 * b) / 255);
}

function renderFrame(video: SunVideo, t: number): Frame {
  const { width, height, sky, sun } = video;
  const { codedWidth, codedHeight } = codedSize(width, height);
  const radius = Math.min(width, height) * video.radius;
  const cx = width * (0.12 + 0.76 * t);
  const cy = height * (0.8 - 0.55 * Math.sin(Math.PI * t));
  const span = Math.max(1, width + height - 2);

  // RGB of the coded area; the padding beyond the visible picture repeats its edge.
  const rgb = new Float64Array(codedWidth * codedHeight * 3);
  for (let y = 0; y < codedHeight; y++) {
    const vy = Math.min(y, height - 1);
    for (let x = 0; x < codedWidth; x++) {
      const vx = Math.min(x, width - 1);
      const dx = vx + 0.5 - cx;
      const dy = vy + 0.5 - cy;
      const inSun = dx * dx + dy * dy <= radius * radius;
      const mix = (vx + vy) / span;
      const offset = (y * codedWidth + x) * 3;
      for (let c = 0; c < 3; c++) {
        rgb[offset + c] = inSun ? sun[c]! : sky[0][c]! + (sky[1][c]! - sky[0][c]!) * mix;
      }
    }
  }

  const frame: Frame = {
    y: new Uint8Array(codedWidth * codedHeight),
    cb: new Uint8Array((codedWidth / 2) * (codedHeight / 2)),
    cr: new Uint8Array((codedWidth / 2) * (codedHeight / 2)),
  };
  for (let i = 0; i < codedWidth * codedHeight; i++) frame.y[i] = toY(rgb[i * 3]!, rgb[i * 3 + 1]!, rgb[i * 3 + 2]!);
  for (let y = 0; y < codedHeight / 2; y++) {
    for (let x = 0; x < codedWidth / 2; x++) {
      const sum = [0, 0, 0];
      for (const [ox, oy] of [
        [0, 0],
        [1, 0],
        [0, 1],
        [1, 1],
      ] as const) {
        const offset = ((y * 2 + oy) * codedWidth + x * 2 + ox) * 3;
        for (let c = 0; c < 3; c++) sum[c]! += rgb[offset + c]!;
      }
      const [r, g, b] = sum.map((value) => value / 4) as Rgb;
      frame.cb[y * (codedWidth / 2) + x] = toCb(r, g, b);
      frame.cr[y * (codedWidth / 2) + x] = toCr(r, g, b);
    }
  }
  return frame;
}

export function renderSunVideo(video: SunVideo): Uint8Array {
  const count = Math.max(1, Math.round(video.seconds * video.fps));
  const frames = Array.from({ length: count }, (_, index) => renderFrame(video, count === 1 ? 0 : index / (count - 1)));
  return encodeMp4({ width: video.width, height: video.height, fps: video.fps, frames });
}
