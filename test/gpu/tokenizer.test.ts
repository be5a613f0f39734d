/**
 * The CLIP tokenizer against ids computed with open_clip's own SimpleTokenizer (open_clip_torch 3.3.0, Python,
 * same vocabulary file) — ground truth, not ids worked out by hand.
 */
import assert from 'node:assert/strict';
import { ClipTokenizer, EOT_TOKEN, SAM3_CONTEXT_LENGTH, SOT_TOKEN } from '../../gpu-activities/tokenizer/clipTokenizer';
import { cleanPromptText } from '../../gpu-activities/tokenizer/textClean';
import { REFERENCE_COLORS } from '../../scripts/model-fixture/referenceColors';
import { PRESETS } from '../../domain/presets';

// open_clip: [tokenizer.sot_token_id] + tokenizer.encode(text) + [tokenizer.eot_token_id], zero-padded to 32.
const OPEN_CLIP_IDS: Record<string, number[]> = {
  'a photo of a cat': [49406, 320, 1125, 539, 320, 2368, 49407],
  '  Hello,   WORLD!  ': [49406, 3306, 267, 1002, 256, 49407],
  'yellow school bus': [49406, 4481, 1228, 2840, 49407],
  "It's 3D rock'n'roll &amp; café": [49406, 585, 568, 274, 323, 2172, 262, 333, 262, 3341, 261, 15304, 49407],
  'Ünïcödé naïve façade 東京': [49406, 6522, 77, 35689, 66, 7255, 67, 4166, 1097, 35689, 563, 778, 10067, 1928, 48338, 21078, 361, 49407],
  'wall-to-wall carpeting 2024': [49406, 2569, 268, 531, 268, 2569, 811, 661, 694, 273, 271, 273, 275, 49407],
};

// open_clip: tokenizer.encode(word) for every prompt of the presets / the fixture's reference colours.
const OPEN_CLIP_WORDS: Record<string, number> = {
  wall: 2569,
  floor: 4125,
  ceiling: 12374,
  sofa: 15723,
  curtain: 17223,
  cabinet: 9937,
  rug: 19220,
  bed: 2722,
  person: 2533,
  window: 4879,
  plant: 3912,
  product: 4306,
  background: 5994,
  table: 2175,
  model: 2863,
  shadow: 7068,
  logo: 5750,
};

describe('CLIP tokenizer', () => {
  const tokenizer = new ClipTokenizer();

  it('has the special tokens at the CLIP ids', () => {
    assert.equal(SOT_TOKEN, 49406);
    assert.equal(EOT_TOKEN, 49407);
    assert.deepEqual(tokenizer.encode('<|startoftext|>'), [49406]);
    assert.deepEqual(tokenizer.encode('<|endoftext|>'), [49407]);
  });

  for (const [text, ids] of Object.entries(OPEN_CLIP_IDS)) {
    it(`matches open_clip for ${JSON.stringify(text)}`, () => {
      const expected = [...ids, ...new Array(SAM3_CONTEXT_LENGTH - ids.length).fill(0)];
      assert.deepEqual(Array.from(tokenizer.tokenize(text), Number), expected);
    });
  }

  it('matches open_clip for every preset prompt, each a single token', () => {
    for (const [word, id] of Object.entries(OPEN_CLIP_WORDS)) assert.deepEqual(tokenizer.encode(word), [id], word);
    const prompts = PRESETS.flatMap((p) => [...p.concepts, ...p.protect].map((c) => c.prompt));
    for (const prompt of prompts) assert.ok(prompt in REFERENCE_COLORS, `preset prompt '${prompt}' has a fixture colour`);
    assert.deepEqual(Object.keys(OPEN_CLIP_WORDS).sort(), Object.keys(REFERENCE_COLORS).sort());
  });

  it('returns int64 [32]: start, ids, end, zero padding', () => {
    const t = tokenizer.tokenize('wall');
    assert.ok(t instanceof BigInt64Array);
    assert.equal(t.length, 32);
    assert.deepEqual(Array.from(t.slice(0, 4), Number), [49406, 2569, 49407, 0]);
  });

  it('cuts long prompts at 32 tokens and still ends with <|endoftext|> (open_clip truncation)', () => {
    const t = Array.from(tokenizer.tokenize('a '.repeat(40)), Number);
    assert.deepEqual(t, [49406, ...new Array(30).fill(320), 49407]);
  });

  it('lower-cases and collapses whitespace before encoding', () => {
    assert.equal(cleanPromptText('  Big\tRED\n  Sofa  '), 'big red sofa');
    assert.deepEqual(tokenizer.encode('  WALL '), tokenizer.encode('wall'));
    assert.equal(cleanPromptText('it’s &amp;amp; ﬁne'), "it's & fine");
  });
});
