/**
 * The CLIP byte-pair-encoding tokenizer SAM3's language encoder was trained with (OpenAI CLIP / open_clip
 * SimpleTokenizer), in TypeScript: same vocabulary file, same pre-tokenizer pattern, same merge order, so the ids
 * match the Python reference (test/gpu/tokenizer.test.ts checks ids computed with open_clip).
 */
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanPromptText } from './textClean';

/** Id of `<|startoftext|>` in the CLIP vocabulary. */
export const SOT_TOKEN = 49406;
/** Id of `<|endoftext|>` in the CLIP vocabulary. */
export const EOT_TOKEN = 49407;
/** Context length of the SAM3 language encoder input `tokens` [1, 32]. */
export const SAM3_CONTEXT_LENGTH = 32;

/** Path of the vocabulary shipped with the repo (see LICENSE beside it). */
export const DEFAULT_VOCAB_PATH = join(__dirname, 'bpe_simple_vocab_16e6.txt.gz');

// The merges file has a version header line; CLIP uses the first 49152 - 256 - 2 merges after it.
const MERGE_COUNT = 49152 - 256 - 2;
// Same alternation as CLIP's regex (special tokens, English contractions, letter runs, single digits, other runs);
// the text is lower-cased first, so CLIP's IGNORECASE flag changes nothing here.
const PRETOKENIZE = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+/gu;

/**
 * GPT-2's reversible byte -> printable character table, which CLIP's vocabulary is written in. `order` lists the
 * bytes in the reference's dict order (printable bytes first), which is the order of the first 256 vocabulary ids.
 */
function bytesToUnicode(): { table: string[]; order: number[] } {
  const order: number[] = [];
  const ranges: [number, number][] = [
    [0x21, 0x7e],
    [0xa1, 0xac],
    [0xae, 0xff],
  ];
  for (const [from, to] of ranges) for (let b = from; b <= to; b++) order.push(b);
  const table: string[] = order.map((b) => String.fromCodePoint(b));
  const printable = new Set(order);
  const codes = new Array<string>(256);
  order.forEach((b, i) => (codes[b] = table[i]));
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    if (printable.has(b)) continue;
    codes[b] = String.fromCodePoint(256 + extra++);
    order.push(b);
  }
  return { table: codes, order };
}

/** A loaded CLIP BPE tokenizer; create once per process (loading parses ~49k merges). */
export class ClipTokenizer {
  private readonly byteEncoder: string[];
  private readonly encoder = new Map<string, number>();
  private readonly bpeRanks = new Map<string, number>();
  private readonly cache = new Map<string, string[]>();

  constructor(vocabPath: string = DEFAULT_VOCAB_PATH) {
    const { table, order } = bytesToUnicode();
    this.byteEncoder = table;
    const lines = gunzipSync(readFileSync(vocabPath)).toString('utf8').split('\n');
    const merges = lines.slice(1, MERGE_COUNT + 1).map((l) => l.split(' ') as [string, string]);
    const symbols = order.map((b) => table[b]);
    const vocab: string[] = [...symbols, ...symbols.map((c) => `${c}</w>`)];
    merges.forEach(([a, b], rank) => {
      vocab.push(a + b);
      // A space cannot occur inside a symbol, so it is a safe pair separator for the map key.
      this.bpeRanks.set(`${a} ${b}`, rank);
    });
    vocab.push('<|startoftext|>', '<|endoftext|>');
    vocab.forEach((token, id) => this.encoder.set(token, id));
    if (this.encoder.get('<|endoftext|>') !== EOT_TOKEN) throw new Error(`unexpected CLIP vocabulary in ${vocabPath}`);
  }

  /** The BPE symbols of one pre-token (already mapped to the byte alphabet), with `</w>` on the last one. */
  private bpe(token: string): string[] {
    const cached = this.cache.get(token);
    if (cached) return cached;
    let word = Array.from(token);
    word[word.length - 1] += '</w>';
    while (word.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < word.length - 1; i++) {
        const rank = this.bpeRanks.get(`${word[i]} ${word[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) break;
      // Merge every occurrence of the best pair, left to right, as the reference does.
      const [first, second] = [word[best], word[best + 1]];
      const merged: string[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i < word.length - 1 && word[i] === first && word[i + 1] === second) {
          merged.push(first + second);
          i++;
        } else merged.push(word[i]);
      }
      word = merged;
    }
    this.cache.set(token, word);
    return word;
  }

  /** The token ids of a text, without start/end tokens. */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const match of cleanPromptText(text).matchAll(PRETOKENIZE)) {
      const piece = match[0];
      const special = this.encoder.get(piece);
      if (piece.startsWith('<|') && special !== undefined) {
        ids.push(special);
        continue;
      }
      const mapped = Array.from(Buffer.from(piece, 'utf8'), (b) => this.byteEncoder[b]).join('');
      for (const symbol of this.bpe(mapped)) ids.push(this.encoder.get(symbol)!);
    }
    return ids;
  }

  /**
   * The fixed-length model input: `<|startoftext|>`, the ids, `<|endoftext|>`, zero padding; a text too long is cut
   * and still ends with `<|endoftext|>` (open_clip's truncation).
   */
  tokenize(text: string, contextLength: number = SAM3_CONTEXT_LENGTH): BigInt64Array {
    let ids = [SOT_TOKEN, ...this.encode(text), EOT_TOKEN];
    if (ids.length > contextLength) {
      ids = ids.slice(0, contextLength);
      ids[contextLength - 1] = EOT_TOKEN;
    }
    const out = new BigInt64Array(contextLength);
    ids.forEach((id, i) => (out[i] = BigInt(id)));
    return out;
  }
}
