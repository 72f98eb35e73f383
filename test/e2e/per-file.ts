// Set-up file of the e2e project, run in each test file's process: closes the browser the file's
// tests shared (test/e2e/browser.ts, openApp) after its last test.
import { afterAll } from 'vitest';
import { closeSharedBrowser } from './browser';

afterAll(closeSharedBrowser);
