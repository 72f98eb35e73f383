// A device-side accumulator that turns many scalar tensors into one read-back per update.
import { tf, type Scalar } from './tf';

/** Sums scalar tensors per name on the device; `read()` returns their means with one data() call. */
export class DeviceAverages {
  private readonly sums = new Map<string, Scalar>();
  private readonly counts = new Map<string, number>();

  add(name: string, value: Scalar): void {
    const previous = this.sums.get(name);
    this.sums.set(name, previous ? tf.tidy(() => tf.add(previous, value)) : tf.clone(value));
    previous?.dispose();
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
  }

  async read(): Promise<Record<string, number>> {
    const names = [...this.sums.keys()];
    if (names.length === 0) return {};
    const stacked = tf.stack(names.map((n) => this.sums.get(n) as Scalar));
    const values = await stacked.data(); // the update's one metrics read-back
    stacked.dispose();
    const means = Object.fromEntries(names.map((n, i) => [n, values[i] / (this.counts.get(n) ?? 1)]));
    this.dispose();
    return means;
  }

  dispose(): void {
    for (const t of this.sums.values()) t.dispose();
    this.sums.clear();
    this.counts.clear();
  }
}
