#!/usr/bin/env node
// Finds a Chromium for the browser (e2e) tests; Playwright drives it, and never downloads its own.
// Order: $CHROMIUM_PATH, then the usual system paths. When none exists and this process may install one
// (root on Debian with apt-get), it installs Debian's `chromium` package. Otherwise it fails with what
// to install.
//
//   node scripts/find-chromium.mjs               prints the path (installing if needed and allowed)
//   node scripts/find-chromium.mjs --no-install  only looks
//
// Exit status 0 with the path on stdout, or 1 with the reason on stderr.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, realpathSync, statSync } from 'node:fs';
import process from 'node:process';
import { pathToFileURL } from 'node:url';

/** System locations tried, in order, after $CHROMIUM_PATH. */
export const CHROMIUM_CANDIDATES = Object.freeze([
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
]);

/** What a person should do when there is no Chromium; printed verbatim in errors. */
export const INSTALL_HINT =
  'Install Chromium with `apt-get install chromium` (as root on Debian/Ubuntu: ' +
  '`sudo apt-get update && sudo apt-get install -y chromium`), ' +
  'or set CHROMIUM_PATH to an existing Chromium or Chrome executable.';

function isExecutableFile(path) {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** True when this process can install Debian's chromium package: root, Debian, apt-get present. */
export function canInstallChromium() {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  if (!existsSync('/etc/debian_version')) return false;
  return spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
}

function firstCandidate() {
  return CHROMIUM_CANDIDATES.find(isExecutableFile);
}

function installChromium(log) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Progress goes to stderr so that the CLI's stdout stays just the path.
  const stdio = ['ignore', process.stderr, process.stderr];
  for (const args of [['update'], ['install', '-y', 'chromium']]) {
    log(`find-chromium: running apt-get ${args.join(' ')}`);
    const result = spawnSync('apt-get', args, { env, stdio });
    if (result.status !== 0) {
      const how = result.error ? result.error.message : `exit status ${result.status ?? result.signal}`;
      throw new Error(`\`apt-get ${args.join(' ')}\` failed (${how}). ${INSTALL_HINT}`);
    }
  }
}

/**
 * Returns the path of a Chromium executable.
 *
 * @param {{ install?: boolean, log?: (message: string) => void }} [options]
 *   install: may it run apt-get when none is found (default true; it still needs root on Debian).
 *   log: progress messages (default: stderr).
 * @returns {string}
 * @throws {Error} when none is found and none can be installed; the message says what to install.
 */
export function findChromium(options = {}) {
  const { install = true, log = (message) => process.stderr.write(`${message}\n`) } = options;

  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (isExecutableFile(fromEnv)) return fromEnv;
    throw new Error(
      `CHROMIUM_PATH is set to "${fromEnv}", which is not an executable file. ` +
        `Point it at a Chromium or Chrome executable, or unset it to use ${CHROMIUM_CANDIDATES[0]}. ${INSTALL_HINT}`,
    );
  }

  const found = firstCandidate();
  if (found) return found;

  const looked = `looked at $CHROMIUM_PATH (unset), ${CHROMIUM_CANDIDATES.join(', ')}`;
  if (!install || !canInstallChromium()) {
    const why = install ? 'cannot install it from here (needs root on Debian with apt-get)' : 'installing is off';
    throw new Error(`No Chromium found (${looked}); ${why}. ${INSTALL_HINT}`);
  }

  log(`find-chromium: no Chromium found (${looked}); installing Debian's chromium package.`);
  installChromium(log);
  const installed = firstCandidate();
  if (!installed) throw new Error(`apt-get installed chromium, yet no Chromium was found (${looked}). ${INSTALL_HINT}`);
  log(`find-chromium: installed ${installed}`);
  return installed;
}

function isMain() {
  if (!process.argv[1]) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write('usage: node scripts/find-chromium.mjs [--no-install]\n');
  } else {
    try {
      process.stdout.write(`${findChromium({ install: !args.includes('--no-install') })}\n`);
    } catch (error) {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    }
  }
}
