// The lessons run's guard against edits during the run (src/cli/source-watch.ts): a change anywhere under
// a watched folder is reported, and a missing folder is skipped rather than failing the run.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { watchSources } from '../src/cli/source-watch';

const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

describe('watchSources', () => {
  it('reports a file edited in a nested folder, and nothing before it is edited', async () => {
    const root = mkdtempSync(join(tmpdir(), 'watch-'));
    mkdirSync(join(root, 'engine', 'kernels'), { recursive: true });
    writeFileSync(join(root, 'engine', 'kernels', 'a.ts'), 'one');
    const watch = watchSources([root, join(root, 'missing')]);
    try {
      await settle();
      expect([...watch.changed]).toEqual([]);
      writeFileSync(join(root, 'engine', 'kernels', 'a.ts'), 'two');
      await settle();
      expect([...watch.changed]).toContain(join(root, 'engine', 'kernels', 'a.ts'));
    } finally {
      watch.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
