// Sampling for agentic tasks: the policy writes a turn's action tokens on the device, then the rollout
// reads the buffer back once, the environment writes its observation tokens on the CPU, and the buffer
// goes back up for the next turn. Shapes stay [batch, contextLength]; after the last turn one more
// read-back brings log-probs, values and entropy (sampling.ts, shared with rollout.ts). Observation
// positions are not actions: `actionPositions` lists only the decision positions of tokens the policy chose.
import type { ModelShape, Params } from './model';
import { promptBuffer, type Rollout, type RolloutSettings } from './rollout';
import { GumbelSampler } from './sampling';
import type { Environment } from './tasks/task';
import { tf } from './tf';
import { EOS } from './tokens';

export async function rolloutWithEnvironment(
  policy: Params,
  reference: Params,
  shape: ModelShape,
  prompts: number[][],
  settings: RolloutSettings,
  environment: Environment,
): Promise<Rollout> {
  const { batchSize, temperature } = settings;
  const time = shape.contextLength;
  const { tokens: buffer, responseStart } = promptBuffer(prompts.map(environment.visiblePrompt), time);
  const totalActions = environment.turns.reduce((n, t) => n + t.actions, 0);
  const sampler = new GumbelSampler(policy, shape, temperature, totalActions, settings.samplingSeed, buffer);

  /** Turn at which the environment ended each row's episode (−1: not ended by the environment). */
  const endedAtTurn = new Int32Array(batchSize).fill(-1);
  const done = new Uint8Array(batchSize);
  let position = responseStart;
  try {
    for (const [turnIndex, turn] of environment.turns.entries()) {
      for (let k = 0; k < turn.actions; k++, position++) sampler.sample(position);
      if (turn.observations === 0) continue;
      // The environment's turn: one read-back of tokens and done flags, observations written on the CPU.
      const packed = tf.tidy(() =>
        tf.concat([sampler.tokens, tf.reshape(tf.cast(sampler.done, 'int32'), [batchSize, 1])], 1),
      );
      const data = (await packed.data()) as Int32Array;
      packed.dispose();
      for (let b = 0; b < batchSize; b++) {
        const row = data.subarray(b * (time + 1), (b + 1) * (time + 1));
        buffer.set(row.subarray(0, time), b * time);
        // A row that wrote <eos> is over, unless <eos> only ends the turn (then the environment answers).
        if (row[time] === 1 && !environment.eosEndsTurn) done[b] = 1;
        if (done[b]) continue;
        const response = Array.from(buffer.subarray(b * time + responseStart, b * time + position));
        const observation = environment.observe(prompts[b], response, turnIndex);
        observation.tokens.slice(0, turn.observations).forEach((id, i) => (buffer[b * time + position + i] = id));
        if (observation.done) {
          done[b] = 1;
          endedAtTurn[b] = turnIndex;
        }
      }
      sampler.load(buffer, done);
      position += turn.observations;
    }

    const { planes } = await sampler.finish(reference); // the rollout's last read-back
    const layout = walkLayout(environment, planes.tokens, time, responseStart, endedAtTurn);
    return {
      batchSize,
      time,
      prompts,
      responses: layout.responses,
      responseStart,
      ...planes,
      actionPositions: layout.actionPositions,
      observed: layout.observed,
    };
  } finally {
    sampler.dispose();
  }
}

/**
 * Each row's response (actions and observations, through the end of its episode), which of its tokens
 * are observations, and the decision positions of its actions.
 */
export function walkLayout(
  environment: Environment,
  tokens: Int32Array,
  time: number,
  responseStart: number,
  endedAtTurn: Int32Array,
): { responses: number[][]; observed: boolean[][]; actionPositions: number[][] } {
  const rows = tokens.length / time;
  const responses: number[][] = [];
  const observed: boolean[][] = [];
  const actionPositions: number[][] = [];
  for (let b = 0; b < rows; b++) {
    const response: number[] = [];
    const isObservation: boolean[] = [];
    const positions: number[] = [];
    let position = responseStart;
    let over = false;
    for (const [turnIndex, turn] of environment.turns.entries()) {
      for (let k = 0; k < turn.actions && !over; k++, position++) {
        // A sampled <pad> is an action like any other; only <eos> or the environment ends an episode.
        const id = tokens[b * time + position];
        response.push(id);
        isObservation.push(false);
        positions.push(position - 1);
        if (id === EOS) {
          if (!environment.eosEndsTurn || turnIndex === environment.turns.length - 1) over = true;
          else {
            // The turn's slots after <eos> hold <pad>: context, not actions.
            for (k++, position++; k < turn.actions; k++, position++) {
              response.push(tokens[b * time + position]);
              isObservation.push(true);
            }
            break;
          }
        }
      }
      if (over) break;
      for (let k = 0; k < turn.observations; k++, position++) {
        response.push(tokens[b * time + position]);
        isObservation.push(true);
      }
      if (endedAtTurn[b] === turnIndex) break;
    }
    responses.push(response);
    observed.push(isObservation);
    actionPositions.push(positions);
  }
  return { responses, observed, actionPositions };
}
