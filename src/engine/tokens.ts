// The vocabulary: four special tokens, the task's letters, then any tokens only the task's environment
// writes (e.g. `<`, `>`, `=` for guess). Token ids are array indices.

export const PAD = 0;
export const BOS = 1;
export const SEP = 2;
export const EOS = 3;
export const SPECIAL_TOKENS = ['<pad>', '<bos>', '<sep>', '<eos>'] as const;

export class Vocabulary {
  readonly tokens: readonly string[];
  private readonly ids: ReadonlyMap<string, number>;

  constructor(
    readonly letters: string,
    readonly extras: readonly string[] = [],
  ) {
    this.tokens = [...SPECIAL_TOKENS, ...letters, ...extras];
    this.ids = new Map(this.tokens.map((t, i) => [t, i]));
  }

  get size(): number {
    return this.tokens.length;
  }

  /** Token id of a letter (throws on a letter outside the alphabet: a programming error). */
  id(token: string): number {
    const id = this.ids.get(token);
    if (id === undefined) throw new Error(`"${token}" is not in the vocabulary ${this.tokens.join(' ')}`);
    return id;
  }

  encode(letters: string): number[] {
    return [...letters].map((ch) => this.id(ch));
  }

  decode(ids: ArrayLike<number>): string[] {
    return Array.from(ids, (id) => this.tokens[id] ?? '<?>');
  }

  isLetter(id: number): boolean {
    return id >= SPECIAL_TOKENS.length && id < SPECIAL_TOKENS.length + this.letters.length;
  }
}

/** Letters the tasks are made of, for a given alphabet size. */
export function alphabet(size: number): string {
  return 'abcdefghijklmnop'.slice(0, size);
}
