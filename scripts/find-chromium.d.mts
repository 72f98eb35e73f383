// Types for find-chromium.mjs (imported by the e2e global setup).
export declare const CHROMIUM_CANDIDATES: readonly string[];
export declare const INSTALL_HINT: string;
export declare function canInstallChromium(): boolean;
export declare function findChromium(options?: { install?: boolean; log?: (message: string) => void }): string;
