// A minimal H.264-in-MP4 encoder, so the demo's videos play in any browser's <video> element without
// a codec library. The trick is lossless I_PCM macroblocks (raw samples, no transform, no entropy
// coding beyond a few Exp-Golomb numbers): the first frame is an IDR picture of I_PCM macroblocks,
// each later frame a P picture that skips every macroblock identical to the previous frame and sends
// the changed ones as I_PCM. Constrained Baseline profile, 4:2:0, one slice per picture, no B frames,
// POC type 2 (output order = decode order). The MP4 is a plain ISO BMFF file with the moov box
// before mdat, so playback can start before the whole file has arrived.

export type Frame = {
  /** Luma, codedWidth × codedHeight. */
  y: Uint8Array;
  /** Chroma, (codedWidth / 2) × (codedHeight / 2) each. */
  cb: Uint8Array;
  cr: Uint8Array;
};

/** Sizes must be even; the coded size is rounded up to whole 16×16 macroblocks and cropped back. */
export function codedSize(width: number, height: number): { codedWidth: number; codedHeight: number } {
  return { codedWidth: Math.ceil(width / 16) * 16, codedHeight: Math.ceil(height / 16) * 16 };
}

class BitWriter {
  private readonly bytes: number[] = [];
  private current = 0;
  private count = 0;

  bit(value: number) {
    this.current = (this.current << 1) | (value & 1);
    if (++this.count === 8) {
      this.bytes.push(this.current);
      this.current = 0;
      this.count = 0;
    }
  }
  u(bits: number, value: number) {
    for (let i = bits - 1; i >= 0; i--) this.bit(Math.floor(value / 2 ** i) & 1);
  }
  ue(value: number) {
    const coded = value + 1;
    const length = 32 - Math.clz32(coded);
    this.u(length - 1, 0);
    this.u(length, coded);
  }
  se(value: number) {
    this.ue(value <= 0 ? -2 * value : 2 * value - 1);
  }
  alignZero() {
    while (this.count !== 0) this.bit(0);
  }
  /** Raw bytes; the writer must be byte-aligned. */
  raw(bytes: Uint8Array) {
    for (const byte of bytes) this.bytes.push(byte);
  }
  trailing(): Uint8Array {
    this.bit(1);
    this.alignZero();
    return Uint8Array.from(this.bytes);
  }
}

/** NAL unit: header byte, then the RBSP with emulation prevention (00 00 0x → 00 00 03 0x). */
function nal(refIdc: number, type: number, rbsp: Uint8Array): Uint8Array {
  const out: number[] = [(refIdc << 5) | type];
  let zeros = 0;
  for (const byte of rbsp) {
    if (zeros >= 2 && byte <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(byte);
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  return Uint8Array.from(out);
}

const LOG2_MAX_FRAME_NUM = 16;
const PROFILE_BASELINE = 66;
const CONSTRAINTS = 0xc0; // constraint_set0 + constraint_set1: Constrained Baseline
const LEVEL = 30; // 3.0: plenty for small uncompressed pictures

function sps(width: number, height: number): Uint8Array {
  const { codedWidth, codedHeight } = codedSize(width, height);
  const w = new BitWriter();
  w.u(8, PROFILE_BASELINE);
  w.u(8, CONSTRAINTS);
  w.u(8, LEVEL);
  w.ue(0); // seq_parameter_set_id
  w.ue(LOG2_MAX_FRAME_NUM - 4);
  w.ue(2); // pic_order_cnt_type: POC follows frame_num
  w.ue(1); // max_num_ref_frames
  w.bit(0); // gaps_in_frame_num_value_allowed_flag
  w.ue(codedWidth / 16 - 1);
  w.ue(codedHeight / 16 - 1);
  w.bit(1); // frame_mbs_only_flag
  w.bit(1); // direct_8x8_inference_flag
  const cropRight = (codedWidth - width) / 2; // in chroma units of 2 luma samples
  const cropBottom = (codedHeight - height) / 2;
  if (cropRight || cropBottom) {
    w.bit(1);
    w.ue(0);
    w.ue(cropRight);
    w.ue(0);
    w.ue(cropBottom);
  } else {
    w.bit(0);
  }
  w.bit(0); // vui_parameters_present_flag
  return nal(3, 7, w.trailing());
}

function pps(): Uint8Array {
  const w = new BitWriter();
  w.ue(0); // pic_parameter_set_id
  w.ue(0); // seq_parameter_set_id
  w.bit(0); // entropy_coding_mode_flag: CAVLC
  w.bit(0); // bottom_field_pic_order_in_frame_present_flag
  w.ue(0); // num_slice_groups_minus1
  w.ue(0); // num_ref_idx_l0_default_active_minus1
  w.ue(0); // num_ref_idx_l1_default_active_minus1
  w.bit(0); // weighted_pred_flag
  w.u(2, 0); // weighted_bipred_idc
  w.se(0); // pic_init_qp_minus26
  w.se(0); // pic_init_qs_minus26
  w.se(0); // chroma_qp_index_offset
  w.bit(1); // deblocking_filter_control_present_flag
  w.bit(0); // constrained_intra_pred_flag
  w.bit(0); // redundant_pic_cnt_present_flag
  return nal(3, 8, w.trailing());
}

function macroblockSamples(frame: Frame, codedWidth: number, mbX: number, mbY: number): Uint8Array {
  const out = new Uint8Array(384);
  let i = 0;
  for (let y = 0; y < 16; y++) {
    const row = (mbY * 16 + y) * codedWidth + mbX * 16;
    out.set(frame.y.subarray(row, row + 16), i);
    i += 16;
  }
  const chromaWidth = codedWidth / 2;
  for (const plane of [frame.cb, frame.cr]) {
    for (let y = 0; y < 8; y++) {
      const row = (mbY * 8 + y) * chromaWidth + mbX * 8;
      out.set(plane.subarray(row, row + 8), i);
      i += 8;
    }
  }
  return out;
}

function sameMacroblock(a: Frame, b: Frame, codedWidth: number, mbX: number, mbY: number): boolean {
  const x = macroblockSamples(a, codedWidth, mbX, mbY);
  const y = macroblockSamples(b, codedWidth, mbX, mbY);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

const I_PCM_IN_I_SLICE = 25;
const I_PCM_IN_P_SLICE = 5 + 25; // intra mb_type values follow the five P types

function slice(frame: Frame, previous: Frame | undefined, index: number, codedWidth: number, codedHeight: number) {
  const idr = previous === undefined;
  const mbsWide = codedWidth / 16;
  const mbsHigh = codedHeight / 16;
  const w = new BitWriter();
  w.ue(0); // first_mb_in_slice
  w.ue(idr ? 7 : 5); // slice_type: I or P (+5: every slice of the picture has this type)
  w.ue(0); // pic_parameter_set_id
  w.u(LOG2_MAX_FRAME_NUM, index % 2 ** LOG2_MAX_FRAME_NUM); // frame_num
  if (idr) w.ue(0); // idr_pic_id
  if (!idr) {
    w.bit(0); // num_ref_idx_active_override_flag
    w.bit(0); // ref_pic_list_modification_flag_l0
  }
  if (idr) {
    w.bit(0); // no_output_of_prior_pics_flag
    w.bit(0); // long_term_reference_flag
  } else {
    w.bit(0); // adaptive_ref_pic_marking_mode_flag: sliding window
  }
  w.se(0); // slice_qp_delta
  w.ue(1); // disable_deblocking_filter_idc: off (I_PCM is lossless anyway)

  let skipped = 0;
  for (let mbY = 0; mbY < mbsHigh; mbY++) {
    for (let mbX = 0; mbX < mbsWide; mbX++) {
      // P_Skip copies the co-located macroblock: every motion vector here is zero, since every
      // coded macroblock is intra and every skipped one predicts zero from its neighbours.
      if (previous && sameMacroblock(frame, previous, codedWidth, mbX, mbY)) {
        skipped++;
        continue;
      }
      if (!idr) {
        w.ue(skipped); // mb_skip_run
        skipped = 0;
      }
      w.ue(idr ? I_PCM_IN_I_SLICE : I_PCM_IN_P_SLICE);
      w.alignZero(); // pcm_alignment_zero_bit
      w.raw(macroblockSamples(frame, codedWidth, mbX, mbY));
    }
  }
  if (skipped > 0) w.ue(skipped);
  return nal(idr ? 3 : 2, idr ? 5 : 1, w.trailing());
}

// ---------------------------------------------------------------------------------------------
// ISO BMFF (MP4)
// ---------------------------------------------------------------------------------------------

class ByteWriter {
  private readonly parts: number[] = [];
  u8(value: number) {
    this.parts.push(value & 0xff);
    return this;
  }
  u16(value: number) {
    return this.u8(value >>> 8).u8(value);
  }
  u32(value: number) {
    return this.u16(Math.floor(value / 0x10000) & 0xffff).u16(value & 0xffff);
  }
  ascii(text: string) {
    for (let i = 0; i < text.length; i++) this.u8(text.charCodeAt(i));
    return this;
  }
  bytes(data: Uint8Array) {
    for (const byte of data) this.parts.push(byte);
    return this;
  }
  zeros(count: number) {
    for (let i = 0; i < count; i++) this.parts.push(0);
    return this;
  }
  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function box(type: string, ...children: Uint8Array[]): Uint8Array {
  const payload = concat(children);
  return concat([
    new ByteWriter()
      .u32(8 + payload.length)
      .ascii(type)
      .done(),
    payload,
  ]);
}

function fullBox(type: string, version: number, flags: number, ...children: Uint8Array[]): Uint8Array {
  return box(
    type,
    new ByteWriter()
      .u8(version)
      .u8(flags >>> 16)
      .u16(flags & 0xffff)
      .done(),
    ...children,
  );
}

const MATRIX = [0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000];

function matrix(writer: ByteWriter) {
  for (const value of MATRIX) writer.u32(value);
  return writer;
}

export type Mp4Options = { width: number; height: number; fps: number; frames: Frame[] };

/** Encodes the frames (in coded size) as an H.264 MP4 of width × height at `fps` frames per second. */
export function encodeMp4({ width, height, fps, frames }: Mp4Options): Uint8Array {
  if (width % 2 || height % 2 || width < 2 || height < 2) throw new RangeError("MP4 sides must be even");
  if (frames.length === 0) throw new RangeError("MP4 needs at least one frame");
  const { codedWidth, codedHeight } = codedSize(width, height);
  const timescale = 1000 * fps; // one tick per millisecond of a frame: exact for whole fps
  const delta = 1000;
  const duration = frames.length * delta;
  const movieDuration = Math.round((frames.length * 1000) / fps);

  const spsNal = sps(width, height);
  const ppsNal = pps();
  const samples = frames.map((frame, index) => {
    const unit = slice(frame, index === 0 ? undefined : frames[index - 1], index, codedWidth, codedHeight);
    return concat([new ByteWriter().u32(unit.length).done(), unit]); // 4-byte length prefix (avcC)
  });

  const avcC = box(
    "avcC",
    new ByteWriter()
      .u8(1)
      .u8(spsNal[1]!)
      .u8(spsNal[2]!)
      .u8(spsNal[3]!)
      .u8(0xff) // lengthSizeMinusOne = 3
      .u8(0xe1) // one SPS
      .u16(spsNal.length)
      .bytes(spsNal)
      .u8(1) // one PPS
      .u16(ppsNal.length)
      .bytes(ppsNal)
      .done(),
  );
  const compressor = new Uint8Array(32);
  const avc1 = box(
    "avc1",
    new ByteWriter()
      .zeros(6)
      .u16(1) // data_reference_index
      .zeros(16)
      .u16(width)
      .u16(height)
      .u32(0x00480000) // 72 dpi
      .u32(0x00480000)
      .u32(0)
      .u16(1) // frame_count
      .bytes(compressor)
      .u16(0x0018) // depth
      .u16(0xffff) // pre_defined = -1
      .done(),
    avcC,
  );

  const stbl = (chunkOffset: number) =>
    box(
      "stbl",
      fullBox("stsd", 0, 0, new ByteWriter().u32(1).done(), avc1),
      fullBox("stts", 0, 0, new ByteWriter().u32(1).u32(frames.length).u32(delta).done()),
      fullBox("stss", 0, 0, new ByteWriter().u32(1).u32(1).done()),
      fullBox("stsc", 0, 0, new ByteWriter().u32(1).u32(1).u32(frames.length).u32(1).done()),
      fullBox(
        "stsz",
        0,
        0,
        (() => {
          const writer = new ByteWriter().u32(0).u32(samples.length);
          for (const sample of samples) writer.u32(sample.length);
          return writer.done();
        })(),
      ),
      fullBox("stco", 0, 0, new ByteWriter().u32(1).u32(chunkOffset).done()),
    );

  const moov = (chunkOffset: number) =>
    box(
      "moov",
      fullBox(
        "mvhd",
        0,
        0,
        matrix(
          new ByteWriter()
            .u32(0) // creation_time: fixed, so the same frames give the same bytes
            .u32(0)
            .u32(1000)
            .u32(movieDuration)
            .u32(0x00010000) // rate 1.0
            .u16(0x0100) // volume 1.0
            .zeros(10),
        )
          .zeros(24)
          .u32(2) // next_track_ID
          .done(),
      ),
      box(
        "trak",
        fullBox(
          "tkhd",
          0,
          3, // enabled, in movie
          matrix(
            new ByteWriter()
              .u32(0)
              .u32(0)
              .u32(1) // track_ID
              .u32(0)
              .u32(movieDuration)
              .zeros(8)
              .u16(0) // layer
              .u16(0) // alternate_group
              .u16(0) // volume: video
              .u16(0),
          )
            .u32(width * 0x10000)
            .u32(height * 0x10000)
            .done(),
        ),
        box(
          "mdia",
          fullBox(
            "mdhd",
            0,
            0,
            new ByteWriter().u32(0).u32(0).u32(timescale).u32(duration).u16(0x55c4).u16(0).done(), // "und"
          ),
          fullBox("hdlr", 0, 0, new ByteWriter().u32(0).ascii("vide").zeros(12).ascii("VideoHandler").u8(0).done()),
          box(
            "minf",
            fullBox("vmhd", 0, 1, new ByteWriter().zeros(8).done()),
            box("dinf", fullBox("dref", 0, 0, new ByteWriter().u32(1).done(), fullBox("url ", 0, 1))),
            stbl(chunkOffset),
          ),
        ),
      ),
    );

  const ftyp = box(
    "ftyp",
    new ByteWriter().ascii("isom").u32(0x200).ascii("isom").ascii("iso2").ascii("avc1").ascii("mp41").done(),
  );
  const moovSize = moov(0).length; // the offset field has a fixed width, so the size does not depend on it
  const mdatPayload = concat(samples);
  const chunkOffset = ftyp.length + moovSize + 8;
  return concat([ftyp, moov(chunkOffset), box("mdat", mdatPayload)]);
}
