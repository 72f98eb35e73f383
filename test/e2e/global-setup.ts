// Global setup of the `e2e` Vitest project; runs once, before any e2e test file:
//  1. finds Chromium (scripts/find-chromium.mjs; may apt-get install it when root on Debian),
//  2. builds the app with `vite build` into dist/,
//  3. serves dist/ on 127.0.0.1 at a free port under the sub-path /course/playground/ (static-server.ts;
//     no COOP/COEP headers),
//  4. provides `baseURL` and `chromiumPath` to the tests (`inject('baseURL')`).
// A failure here (no Chromium, a build error) does not abort the run, which would take the unit tests
// down with it: it is provided as `setupError`, and every e2e test fails with that message instead.
// Environment knobs: E2E_BASE_URL=http://… tests an app already served there (no build, no server);
// E2E_SKIP_BUILD=1 serves the existing dist/ without rebuilding.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import type { TestProject } from 'vitest/node';
import { findChromium } from '../../scripts/find-chromium.mjs';
import { startStaticServer } from './static-server';

/** Where the built app is served: not the site's root. */
export const SUB_PATH = '/course/playground/';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where the built app is served, with a trailing slash: http://127.0.0.1:PORT/course/playground/ */
    baseURL: string;
    /** The Chromium executable Playwright launches. */
    chromiumPath: string;
    /** Why the setup failed ('' when it did not); each e2e test then fails with it. */
    setupError: string;
  }
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DIST = join(ROOT, 'dist');
const BUILD_TIMEOUT_MS = 5 * 60_000;

const log = (message: string) => process.stdout.write(`[e2e] ${message}\n`);

/** Runs `vite build` in a child process (a clean production env, not Vitest's) and resolves when done. */
function viteBuild(): Promise<void> {
  const vite = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production', NO_COLOR: '1', FORCE_COLOR: '0' };
  for (const key of Object.keys(env)) if (key.startsWith('VITEST') || key === 'TEST') delete env[key];

  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [vite, 'build', '--outDir', DIST, '--emptyOutDir'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), BUILD_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      fail(new Error(`e2e setup: could not run vite build: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return done();
      const tail = stripVTControlCharacters(output)
        .split('\n')
        .filter((line) => !/^\s+at /.test(line))
        .join('\n')
        .trim()
        .split('\n')
        .slice(-30)
        .join('\n');
      const how = signal === 'SIGKILL' ? `timed out after ${BUILD_TIMEOUT_MS / 1000} s` : `exit ${code ?? signal}`;
      fail(new Error(`e2e setup: \`vite build\` failed (${how}); the browser tests need a building app.\n${tail}`));
    });
  });
}

async function start(project: TestProject): Promise<() => Promise<void>> {
  const chromiumPath = findChromium({ log });
  log(`Chromium: ${chromiumPath}`);
  project.provide('chromiumPath', chromiumPath);

  const external = process.env.E2E_BASE_URL;
  if (external) {
    const baseURL = external.endsWith('/') ? external : `${external}/`;
    log(`testing the app at ${baseURL} (E2E_BASE_URL; no build, no server)`);
    project.provide('baseURL', baseURL);
    return async () => {};
  }

  if (process.env.E2E_SKIP_BUILD) {
    if (!existsSync(join(DIST, 'index.html')))
      throw new Error('e2e setup: E2E_SKIP_BUILD is set but dist/ has no build');
    log('serving the existing dist/ (E2E_SKIP_BUILD)');
  } else {
    const started = Date.now();
    log('vite build → dist/ …');
    await viteBuild();
    log(`built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  // Under a sub-path, as a GitHub Pages project site serves it: every browser test checks that the
  // build's relative asset, worker and wasm URLs work away from a site's root.
  const server = await startStaticServer(DIST, 0, SUB_PATH);
  log(`serving dist/ at ${server.url}`);
  project.provide('baseURL', server.url);
  return () => server.close();
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  project.provide('chromiumPath', '');
  project.provide('baseURL', '');
  project.provide('setupError', '');
  try {
    return await start(project);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log(`SETUP FAILED (the e2e test files will fail with the details): ${message.split('\n')[0]}`);
    project.provide('setupError', message);
    return async () => {};
  }
}
