// A device-side accumulator that turns many scalar tensors into one read-back per update.
import { tf, type Scalar } from './tf';

/**
 * Keeps scalar tensors per name on the device; `read()` returns their means with one data() call. The
 * scalars are kept (a clone shares the caller's buffer on every backend) and summed after the read-back
 * in float32, in the order they came, as a chain of device adds would: the same numbers without an add
 * kernel per scalar (~100 per PPO update).
 */
export class DeviceAverages {
  private readonly kept = new Map<string, Scalar[]>();

  add(name: string, value: Scalar): void {
    const list = this.kept.get(name) ?? [];
    list.push(tf.keep(tf.clone(value)));
    this.kept.set(name, list);
  }

  async read(): Promise<Record<string, number>> {
    const names = [...this.kept.keys()];
    if (names.length === 0) return {};
    const lists = names.map((n) => this.kept.get(n) as Scalar[]);
    const stacked = tf.stack(lists.flat());
    const values = await stacked.data(); // the update's one metrics read-back
    stacked.dispose();
    let next = 0;
    const means = Object.fromEntries(
      names.map((name, i) => {
        let sum = values[next++];
        for (let j = 1; j < lists[i].length; j++) sum = Math.fround(sum + values[next++]);
        return [name, sum / lists[i].length];
      }),
    );
    this.dispose();
    return means;
  }

  dispose(): void {
    for (const list of this.kept.values()) tf.dispose(list);
    this.kept.clear();
  }
}
