// The browser part of `npm run bench`: the built app in headless Chromium (the system's, via
// playwright-core), for each backend the wall time from opening an autoplay link of the default
// preset to a 5-update mean score ≥ 0.9 (and to the first update); optionally a long run that samples
// memory. A backend written `webgpu:tfjs` or `webgpu:barrier-free` adds `&webgpuKernels=…` (which
// programs WebGPU runs; plain `webgpu` is auto: barrier-free on SwiftShader); `repeats` runs the whole
// list that many times, interleaved.
// Scores are read from the status line (`Update N · score 0.xxx · …`), recorded by a MutationObserver
// installed before the app starts, so no update is missed however fast they come.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { findChromium } from '../scripts/find-chromium.mjs';
import { CHROMIUM_ARGS as TEST_CHROMIUM_ARGS } from '../test/e2e/chromium-args';
import { startStaticServer } from '../test/e2e/static-server';
import { STATUS_RECORDER, statusLog } from '../test/e2e/status-recorder';

export interface BrowserBenchOptions {
  backends: string[];
  /** Runs the list of backends this many times, one after the other (interleaved variants). */
  repeats?: number;
  /** Give up on one backend after this many seconds. */
  thresholdTimeoutS: number;
  /** 0 = no memory run; else this many updates on wasm, memory sampled along the way. */
  memoryUpdates: number;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const THRESHOLD = 0.9;
const WINDOW = 5;
// The browser tests' flags, plus exact (not bucketed) JS heap sizes for the memory run.
const CHROMIUM_ARGS = [...TEST_CHROMIUM_ARGS, '--enable-precise-memory-info'];

function build(outDir: string): Promise<void> {
  const vite = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [vite, 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'production' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    child.on('close', (code) => (code === 0 ? done() : fail(new Error(`vite build failed: ${errors.slice(-2000)}`))));
  });
}

async function openPage(executablePath: string): Promise<{ context: BrowserContext; page: Page; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'token-rl-bench-'));
  const context = await chromium.launchPersistentContext(dir, { executablePath, headless: true, args: CHROMIUM_ARGS });
  const page = context.pages()[0] ?? (await context.newPage());
  await page.addInitScript(STATUS_RECORDER);
  return { context, page, dir };
}

interface Progress {
  /** Page time (ms since navigation) of each update, its number and score. */
  updates: { at: number; update: number; score: number }[];
  /** Page time at which the status first showed pretraining, and the first update. */
  pretrainStartedAt?: number;
}

async function progressOf(page: Page): Promise<Progress> {
  const log = await statusLog(page);
  const progress: Progress = { updates: [] };
  for (const [at, text] of log) {
    if (progress.pretrainStartedAt === undefined && text.startsWith('Pretraining')) progress.pretrainStartedAt = at;
    const match = /^Update (\d+) · score ([\d.]+)/.exec(text);
    if (match && progress.updates.at(-1)?.update !== Number(match[1]))
      progress.updates.push({ at, update: Number(match[1]), score: Number(match[2]) });
  }
  return progress;
}

const windowMean = (xs: { score: number }[]) => xs.reduce((a, x) => a + x.score, 0) / xs.length;

interface ThresholdRow {
  asked: string;
  running: string;
  reachedS?: number;
  firstUpdateS?: number;
  updates: number;
  lastMean: number;
  updatesPerS: number;
  elapsedS: number;
  /** The machine's 1-minute load average when the run started and when it ended. */
  load: [number, number];
}

async function timeToThreshold(executablePath: string, baseURL: string, backend: string, timeoutS: number) {
  const { context, page, dir } = await openPage(executablePath);
  try {
    const [name, kernels] = backend.split(':');
    const query = `?backend=${name}${kernels ? `&webgpuKernels=${kernels}` : ''}`;
    const loadAtStart = loadavg()[0];
    await page.goto(`${baseURL}${query}#autoplay=1`, { waitUntil: 'load' });
    const started = Date.now();
    let progress: Progress = { updates: [] };
    let reachedAt: number | undefined;
    while (Date.now() - started < timeoutS * 1000) {
      await page.waitForTimeout(250);
      progress = await progressOf(page);
      const { updates } = progress;
      for (let i = WINDOW - 1; i < updates.length && reachedAt === undefined; i++)
        if (windowMean(updates.slice(i - WINDOW + 1, i + 1)) >= THRESHOLD) reachedAt = i;
      if (reachedAt !== undefined) break;
    }
    const badge =
      (await page
        .locator('[data-testid="backend-badge"]')
        .textContent()
        .catch(() => null)) ?? '?';
    const { updates } = progress;
    const end = reachedAt ?? updates.length - 1;
    const first = updates[0];
    const last = updates[end];
    const row: ThresholdRow = {
      asked: backend,
      running: badge.trim(),
      reachedS: reachedAt === undefined ? undefined : updates[reachedAt].at / 1000,
      firstUpdateS: first ? first.at / 1000 : undefined,
      updates: last?.update ?? 0,
      lastMean: updates.length >= WINDOW ? windowMean(updates.slice(Math.max(0, end - WINDOW + 1), end + 1)) : NaN,
      updatesPerS: first && last && last !== first ? ((last.update - first.update) * 1000) / (last.at - first.at) : 0,
      elapsedS: (Date.now() - started) / 1000,
      load: [loadAtStart, loadavg()[0]],
    };
    return row;
  } finally {
    await context.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

interface MemorySample {
  update: number;
  heapMb: number;
}

/** Runs `updates` updates on wasm; samples the page's JS heap after a forced GC every ~10% of the run. */
async function memoryRun(executablePath: string, baseURL: string, updates: number) {
  const { context, page, dir } = await openPage(executablePath);
  try {
    page.on('crash', () => console.error('bench: the page crashed'));
    page.on('pageerror', (e) => console.error(`bench: page error: ${e.message}`));
    const cdp = await context.newCDPSession(page);
    await page.goto(`${baseURL}?backend=wasm#autoplay=1`, { waitUntil: 'load' });
    const samples: MemorySample[] = [];
    const every = Math.max(1, Math.round(updates / 10));
    let next = every;
    for (;;) {
      await page.waitForTimeout(500);
      const current = (await progressOf(page)).updates.at(-1)?.update ?? 0;
      if (current < next) continue;
      await cdp.send('HeapProfiler.collectGarbage');
      const { usedSize } = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
      samples.push({ update: current, heapMb: usedSize / 2 ** 20 });
      if (current >= updates) break;
      next += every;
    }
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    // The exported CSV carries every update's perf/tensors and perf/tensor_mb from the worker.
    const [file] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download CSV', exact: true }).click(),
    ]);
    const csv = readFileSync(await file.path(), 'utf8')
      .trim()
      .split('\n');
    const header = csv[0].split(',');
    const column = (name: string) => header.indexOf(name);
    const rows = csv.slice(1).map((line) => line.split(',').map(Number));
    const tensorsAt = (update: number) => rows.find((r) => r[column('update')] === update);
    return samples.map((s) => {
      const row = tensorsAt(s.update);
      return {
        ...s,
        tensors: row ? row[column('perf/tensors')] : NaN,
        tensorMb: row ? row[column('perf/tensor_mb')] : NaN,
      };
    });
  } finally {
    await context.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

const seconds = (s: number | undefined) => (s === undefined ? '–' : s.toFixed(1));

export async function benchBrowser(options: BrowserBenchOptions): Promise<string> {
  const executablePath = findChromium({ log: () => {} });
  const outDir = mkdtempSync(join(tmpdir(), 'token-rl-bench-dist-'));
  const lines: string[] = [];
  try {
    await build(outDir);
    const server = await startStaticServer(outDir);
    try {
      if (options.backends.length > 0)
        lines.push(
          `Time from opening \`?backend=…#autoplay=1\` (default preset) to a ${WINDOW}-update mean score ≥ ${THRESHOLD}, headless Chromium, this machine (no GPU: WebGL and WebGPU run on SwiftShader):`,
          '',
          '| backend asked | running | seconds to threshold | first update at s | updates | updates/s | load (1-min) start → end |',
          '|---|---|---:|---:|---:|---:|---:|',
        );
      const runs = Array.from({ length: options.repeats ?? 1 }, () => options.backends).flat();
      for (const backend of runs) {
        const r = await timeToThreshold(executablePath, server.url, backend, options.thresholdTimeoutS);
        const reached =
          r.reachedS === undefined
            ? `not reached in ${r.elapsedS.toFixed(0)} s (5-update mean ${Number.isNaN(r.lastMean) ? '–' : r.lastMean.toFixed(2)})`
            : `**${seconds(r.reachedS)}**`;
        lines.push(
          `| ${r.asked} | ${r.running} | ${reached} | ${seconds(r.firstUpdateS)} | ${r.updates} | ${r.updatesPerS.toFixed(2)} | ${r.load.map((l) => l.toFixed(1)).join(' → ')} |`,
        );
      }
      if (options.memoryUpdates > 0) {
        const samples = await memoryRun(executablePath, server.url, options.memoryUpdates);
        lines.push(
          '',
          `Memory over ${options.memoryUpdates} updates on wasm (JS heap of the page after a forced GC; tensors from the worker's tf.memory()):`,
          '',
          '| update | page JS heap MB | tensors | tensor MB |',
          '|---:|---:|---:|---:|',
          ...samples.map((s) => `| ${s.update} | ${s.heapMb.toFixed(2)} | ${s.tensors} | ${s.tensorMb.toFixed(3)} |`),
        );
        const first = samples[0];
        const last = samples.at(-1);
        if (first && last)
          lines.push(
            '',
            `From update ${first.update} to ${last.update}: JS heap ${(last.heapMb - first.heapMb).toFixed(2)} MB, tensors ${last.tensors - first.tensors}, tensor MB ${(last.tensorMb - first.tensorMb).toFixed(3)}.`,
          );
      }
    } finally {
      await server.close();
    }
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
  return lines.join('\n');
}
