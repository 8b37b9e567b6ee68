/**
 * GPU time of whatever a page runs on WebGPU, for libraries that expose no timestamps of their own:
 * `requestDevice` is wrapped to ask for 'timestamp-query' where the adapter has it, and while a
 * measurement is open every compute pass that writes no timestamps itself gets a begin/end pair.
 * The pairs are resolved when the command buffer is finished; `stop()` sums end − begin over the
 * passes (the time the GPU spent in compute passes, not the gaps between them), or null without
 * timestamps.
 */
export interface GpuTimer {
  start(): void;
  stop(): Promise<number | null>;
}

const PAIRS = 2048; // passes per query set (a query set holds at most 4096 queries)

interface Slot { set: GPUQuerySet; used: number; device: GPUDevice }

export function installGpuTimer(): GpuTimer {
  let open = false;
  const devices = new WeakSet<GPUDevice>();
  const slots = new WeakMap<GPUCommandEncoder, Slot>();
  const pending: Promise<number>[] = [];
  let overflow = false;

  const adapterProto = GPUAdapter.prototype as GPUAdapter;
  const requestDevice = adapterProto.requestDevice;
  adapterProto.requestDevice = async function (this: GPUAdapter, desc?: GPUDeviceDescriptor) {
    const want = this.features.has('timestamp-query');
    const features = [...(desc?.requiredFeatures ?? [])] as GPUFeatureName[];
    if (want && !features.includes('timestamp-query')) features.push('timestamp-query');
    const device = await requestDevice.call(this, { ...desc, requiredFeatures: features });
    if (device.features.has('timestamp-query')) devices.add(device);
    return device;
  };

  const encProto = GPUCommandEncoder.prototype as GPUCommandEncoder;
  const deviceOf = new WeakMap<GPUCommandEncoder, GPUDevice>();
  const createEncoder = GPUDevice.prototype.createCommandEncoder;
  GPUDevice.prototype.createCommandEncoder = function (this: GPUDevice, desc?: GPUCommandEncoderDescriptor) {
    const enc = createEncoder.call(this, desc);
    if (devices.has(this)) deviceOf.set(enc, this);
    return enc;
  };
  const beginComputePass = encProto.beginComputePass;
  encProto.beginComputePass = function (this: GPUCommandEncoder, desc?: GPUComputePassDescriptor) {
    const device = deviceOf.get(this);
    if (!open || !device || desc?.timestampWrites) return beginComputePass.call(this, desc);
    let slot = slots.get(this);
    if (!slot) slots.set(this, (slot = { set: device.createQuerySet({ type: 'timestamp', count: 2 * PAIRS }), used: 0, device }));
    if (slot.used >= PAIRS) { overflow = true; return beginComputePass.call(this, desc); }
    const k = slot.used++;
    return beginComputePass.call(this, { ...desc, timestampWrites: { querySet: slot.set, beginningOfPassWriteIndex: 2 * k, endOfPassWriteIndex: 2 * k + 1 } });
  };
  const finish = encProto.finish;
  encProto.finish = function (this: GPUCommandEncoder, desc?: GPUCommandBufferDescriptor) {
    const slot = slots.get(this);
    if (slot && slot.used > 0) {
      const bytes = 16 * slot.used;
      const resolve = slot.device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
      const read = slot.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      this.resolveQuerySet(slot.set, 0, 2 * slot.used, resolve, 0);
      this.copyBufferToBuffer(resolve, 0, read, 0, bytes);
      const n = slot.used, set = slot.set;
      slots.delete(this);
      // Mapped once the command buffer has run (the caller submits it right after finish()).
      pending.push(Promise.resolve().then(() => read.mapAsync(GPUMapMode.READ)).then(() => {
        const t = new BigUint64Array(read.getMappedRange());
        let ns = 0;
        for (let k = 0; k < n; k++) if (t[2 * k + 1] > t[2 * k]) ns += Number(t[2 * k + 1] - t[2 * k]);
        read.destroy();
        resolve.destroy();
        set.destroy();
        return ns;
      }));
    }
    return finish.call(this, desc);
  };

  return {
    start() {
      open = true;
      overflow = false;
      pending.length = 0;
    },
    async stop() {
      open = false;
      const all = await Promise.all(pending.splice(0));
      if (all.length === 0 || overflow) return null;
      return all.reduce((a, b) => a + b, 0);
    },
  };
}
