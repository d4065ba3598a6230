// Decoding of the live binary frames (host/dashboard/wire.py describes the layout).

export const KIND_EMG = 1;
export const KIND_ACCEL = 2;
const HEADER = 56;

export function decodeFrame(buffer) {
  const view = new DataView(buffer);
  const magic = String.fromCharCode(view.getUint8(0), view.getUint8(1), view.getUint8(2), view.getUint8(3));
  if (magic !== "SWL1") throw new Error(`not a live frame (${magic})`);
  const kind = view.getUint8(4);
  const nCh = view.getUint8(5);
  const nTimes = view.getUint32(8, true);
  const frame = {
    kind,
    nCh,
    nTimes,
    firstSample: view.getFloat64(16, true),
    sfreq: view.getFloat64(24, true),
    t0Utc: view.getFloat64(32, true),
    receivedS: view.getFloat64(40, true),
    encodedS: view.getFloat64(48, true),
  };
  const values = new Float32Array(buffer, HEADER);
  const size = nCh * nTimes;
  frame.signal = [];
  for (let c = 0; c < nCh; c++) frame.signal.push(values.subarray(c * nTimes, (c + 1) * nTimes));
  if (kind === KIND_EMG) {
    frame.envelope = [];
    for (let c = 0; c < nCh; c++) frame.envelope.push(values.subarray(size + c * nTimes, size + (c + 1) * nTimes));
    const t = values.subarray(2 * size, 2 * size + 3 * nCh);
    frame.onUv = Array.from(t.subarray(0, nCh));
    frame.offUv = Array.from(t.subarray(nCh, 2 * nCh));
    frame.restUv = Array.from(t.subarray(2 * nCh, 3 * nCh));
  }
  return frame;
}

// A ring buffer of one stream: times (s on the stream's time line) and channels.
export class Ring {
  constructor(nCh, capacity) {
    this.nCh = nCh;
    this.capacity = capacity;
    this.t = new Float64Array(capacity);
    this.ch = Array.from({ length: nCh }, () => new Float32Array(capacity));
    this.start = 0;
    this.length = 0;
  }
  push(t0, dt, columns, n) {
    for (let i = 0; i < n; i++) {
      const pos = (this.start + this.length) % this.capacity;
      this.t[pos] = t0 + i * dt;
      for (let c = 0; c < this.nCh; c++) this.ch[c][pos] = columns[c][i];
      if (this.length < this.capacity) this.length++;
      else this.start = (this.start + 1) % this.capacity;
    }
  }
  gap(t) {
    // A NaN column marks a break in the trace.
    const nan = Array.from({ length: this.nCh }, () => [NaN]);
    this.push(t, 0, nan, 1);
  }
  at(i) { return (this.start + i) % this.capacity; }
  lastTime() { return this.length ? this.t[this.at(this.length - 1)] : null; }
  clear() { this.start = 0; this.length = 0; }
}
