import { mount } from 'svelte';
import App from './app/App.svelte';
import { registerServiceWorker } from './app/pwa';

const target = document.getElementById('app');
if (!target) throw new Error('#app element not found');

const app = mount(App, { target });
registerServiceWorker();

export default app;
