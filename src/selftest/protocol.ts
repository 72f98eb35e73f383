// Messages from the self-test worker: one per backend, then `done`.
import type { BackendNumbers } from '../engine/agreement';
import type { BackendName } from '../engine/backend-names';

export type SelfTestEvent =
  | { type: 'result'; backend: BackendName; numbers: BackendNumbers; ms: number }
  | { type: 'unavailable'; backend: BackendName; reason: string }
  | { type: 'done' };
