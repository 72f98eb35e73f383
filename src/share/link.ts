// The preset-link codec (DESIGN §6): `#v=1&task=sort&algo=ppo&seed=7&lr=0.0003&hide=beta,clip`.
// Keys are config-schema names (a few short aliases are accepted); only non-defaults are written.
// Decoding never throws: every unknown key or bad value becomes a notice and a safe value.
import { defaultConfig, FIELD_BY_KEY, FIELDS, validate, type Config } from '../engine/config';

export const LINK_VERSION = 1;

/** Short names people type in links; the canonical name is always the schema key. */
export const KEY_ALIASES: Readonly<Record<string, string>> = {
  algo: 'algorithm',
  lr: 'learningRate',
  clip: 'clipEpsilon',
};

export interface DecodedLink {
  config: Config;
  notices: string[];
  hide: string[];
  autoplay: boolean;
  title: string;
  version: number;
}

const MAX_LINK_LENGTH = 8192;
const MAX_TITLE_LENGTH = 120;

export function encodeLink(
  config: Partial<Config>,
  extras: { hide?: string[]; autoplay?: boolean; title?: string } = {},
): string {
  const defaults = defaultConfig();
  const params = new URLSearchParams({ v: String(LINK_VERSION) });
  for (const field of FIELDS) {
    const value = config[field.key];
    if (value !== undefined && value !== defaults[field.key]) params.set(field.key, String(value));
  }
  if (extras.hide?.length) params.set('hide', extras.hide.join(','));
  if (extras.autoplay) params.set('autoplay', '1');
  if (extras.title) params.set('title', extras.title);
  return `#${params.toString()}`;
}

/** Accepts a full URL, a `#hash` or a bare query string. */
export function decodeLink(link: string): DecodedLink {
  const notices: string[] = [];
  let text = String(link ?? '');
  if (text.length > MAX_LINK_LENGTH) {
    notices.push(`The link is ${text.length} characters long; only the first ${MAX_LINK_LENGTH} were read.`);
    text = text.slice(0, MAX_LINK_LENGTH);
  }
  const hashAt = text.indexOf('#');
  const body = hashAt >= 0 ? text.slice(hashAt + 1) : text.includes('?') ? text.slice(text.indexOf('?') + 1) : text;

  const raw: Record<string, string> = {};
  let version = LINK_VERSION;
  let hide: string[] = [];
  let autoplay = false;
  let title = '';
  for (const part of body.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawKey = eq >= 0 ? part.slice(0, eq) : part;
    const rawValue = eq >= 0 ? part.slice(eq + 1) : '';
    const key = safeDecode(rawKey, notices);
    const value = safeDecode(rawValue, notices);
    if (key === 'v') {
      const v = Number(value);
      if (Number.isInteger(v) && v > 0) version = v;
      else
        notices.push(
          `Link version "${value.slice(0, 20)}" is not a whole number; reading it as version ${LINK_VERSION}.`,
        );
    } else if (key === 'hide') {
      hide = value
        .split(',')
        .filter((k) => {
          const known = FIELD_BY_KEY.has(KEY_ALIASES[k] ?? k);
          if (!known && k !== '') notices.push(`hide: "${k.slice(0, 40)}" is not a setting; ignored.`);
          return known;
        })
        .map((k) => KEY_ALIASES[k] ?? k);
    } else if (key === 'autoplay') {
      autoplay = value === '1' || value === 'true';
    } else if (key === 'title') {
      title = value.slice(0, MAX_TITLE_LENGTH);
    } else {
      const canonical = KEY_ALIASES[key] ?? key;
      if (canonical in raw) notices.push(`"${key.slice(0, 40)}" appears more than once; the last value wins.`);
      raw[canonical] = value;
    }
  }
  if (version > LINK_VERSION) {
    notices.push(
      `This link was made by a newer version (v=${version}); settings this version knows were read, others ignored.`,
    );
  }
  const { config, problems } = validate(raw);
  for (const p of problems) notices.push(p.message);
  return { config, notices, hide, autoplay, title, version };
}

function safeDecode(text: string, notices: string[]): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    notices.push(`"${text.slice(0, 40)}" has broken percent-encoding; read as typed.`);
    return text;
  }
}
