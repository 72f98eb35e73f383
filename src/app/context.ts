// The app's state reaches components through Svelte context: App sets it once, a component that reads
// the run calls `getPlayground()` instead of receiving it as a prop from every parent on the way.
import { createContext } from 'svelte';
import type { PlaygroundState } from './state.svelte';

/** `getPlayground()` throws if no ancestor called `setPlayground()`. */
export const [getPlayground, setPlayground] = createContext<PlaygroundState>();
