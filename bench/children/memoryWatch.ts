/**
 * Where a child's memory goes over a run, without changing how it collects garbage: the heap still in use
 * just after each natural full collection (what the process holds on to), and the sampled peaks of V8's
 * heap reservation and of memory outside the heap (buffers). Peak RSS alone cannot tell data the code holds
 * from garbage not yet collected or heap V8 keeps reserved after a busy stretch.
 */
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface MemoryPeaks {
  /** Largest heap in use right after a full (mark-compact) collection, MB (the forced one at the end too). */
  liveHeapPeakMb: number;
  /** Largest heap V8 had reserved, MB. */
  heapTotalPeakMb: number;
  /** Largest memory outside the V8 heap (Buffers and other native allocations V8 knows of), MB. */
  externalPeakMb: number;
  /** Full collections the process ran by itself. */
  fullGcs: number;
  /** The heap in use after the forced collection at the end, MB. */
  heapAfterGcMb: number;
}

const MB = 1e6;

/**
 * The heap still in use once a full collection has run, in MB: what the process holds on to, as against peak
 * RSS, which also counts garbage not yet collected and heap V8 keeps reserved.
 */
export function heapAfterGcMb(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return getHeapStatistics().used_heap_size / MB;
}

/**
 * Starts watching; `stop()` ends it, forces a last full collection (a short run may have had no other) and
 * gives the peaks with what that collection left.
 */
export function watchMemory(sampleMs = 1_000): { stop: () => MemoryPeaks } {
  let liveHeapPeak = 0;
  let heapTotalPeak = 0;
  let externalPeak = 0;
  let fullGcs = 0;
  const sample = () => {
    const m = process.memoryUsage();
    heapTotalPeak = Math.max(heapTotalPeak, m.heapTotal);
    externalPeak = Math.max(externalPeak, m.external);
  };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
      fullGcs += 1;
      // Read as the observer runs, just after the collection: a little may be allocated since, so this is
      // never below what the collection left.
      const used = process.memoryUsage().heapUsed;
      liveHeapPeak = Math.max(liveHeapPeak, used);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const timer = setInterval(sample, sampleMs);
  timer.unref();
  return {
    stop: () => {
      sample();
      clearInterval(timer);
      observer.disconnect();
      const atEnd = heapAfterGcMb();
      return {
        liveHeapPeakMb: Math.max(liveHeapPeak / MB, atEnd),
        heapAfterGcMb: atEnd,
        heapTotalPeakMb: heapTotalPeak / MB,
        externalPeakMb: externalPeak / MB,
        fullGcs,
      };
    },
  };
}
