/** Domain palettes: the concepts a user can pick, what must be protected, and the swatches offered. */

/** A text in the app's two languages. */
export interface LocalizedText {
  ko: string;
  en: string;
}

/** A default operation a concept gets when the user supplies no rule. */
export type DefaultOperation = { op: 'recolor'; color: string } | { op: 'replace'; color: string } | { op: 'blur'; sigma: number };

/** A concept the user can change; `prompt` is the text sent to the segmenter. */
export interface Concept {
  id: string;
  label: LocalizedText;
  prompt: string;
  default_operation: DefaultOperation;
}

/** A concept that can be protected from change. */
export interface ProtectConcept {
  id: string;
  label: LocalizedText;
  prompt: string;
  default_on: boolean;
}

/** A named palette colour. */
export interface Swatch {
  id: string;
  name: LocalizedText;
  hex: string;
}

/** One domain palette in full. */
export interface Preset {
  id: string;
  name: LocalizedText;
  concepts: Concept[];
  protect: ProtectConcept[];
  palette: Swatch[];
}

// Prompts are single words on purpose: the contract-fixture model keys its reference colours on the first content
// token of the prompt (see scripts/model-fixture), so fixture and presets must agree word for word.
const interior: Preset = {
  id: 'interior',
  name: { ko: '인테리어', en: 'Interior' },
  concepts: [
    { id: 'wall', label: { ko: '벽', en: 'Wall' }, prompt: 'wall', default_operation: { op: 'recolor', color: '#E8E1D5' } },
    { id: 'floor', label: { ko: '바닥', en: 'Floor' }, prompt: 'floor', default_operation: { op: 'recolor', color: '#A67B5B' } },
    { id: 'ceiling', label: { ko: '천장', en: 'Ceiling' }, prompt: 'ceiling', default_operation: { op: 'recolor', color: '#F5F5F0' } },
    { id: 'sofa', label: { ko: '소파', en: 'Sofa' }, prompt: 'sofa', default_operation: { op: 'recolor', color: '#6B7B8C' } },
    { id: 'curtain', label: { ko: '커튼', en: 'Curtain' }, prompt: 'curtain', default_operation: { op: 'recolor', color: '#D8CFC4' } },
    { id: 'cabinet', label: { ko: '수납장', en: 'Cabinet' }, prompt: 'cabinet', default_operation: { op: 'recolor', color: '#FFFFFF' } },
    { id: 'rug', label: { ko: '러그', en: 'Rug' }, prompt: 'rug', default_operation: { op: 'recolor', color: '#B5A48B' } },
    { id: 'bed', label: { ko: '침대', en: 'Bed' }, prompt: 'bed', default_operation: { op: 'recolor', color: '#EDE6DB' } },
  ],
  protect: [
    { id: 'person', label: { ko: '사람', en: 'Person' }, prompt: 'person', default_on: true },
    { id: 'window', label: { ko: '창문', en: 'Window' }, prompt: 'window', default_on: true },
    { id: 'plant', label: { ko: '식물', en: 'Plant' }, prompt: 'plant', default_on: false },
  ],
  palette: [
    { id: 'warm-white', name: { ko: '웜 화이트', en: 'Warm white' }, hex: '#F2EBDD' },
    { id: 'greige', name: { ko: '그레이지', en: 'Greige' }, hex: '#BFB5A7' },
    { id: 'sage', name: { ko: '세이지', en: 'Sage' }, hex: '#A3B18A' },
    { id: 'terracotta', name: { ko: '테라코타', en: 'Terracotta' }, hex: '#C86B4A' },
    { id: 'navy', name: { ko: '네이비', en: 'Navy' }, hex: '#2C3E5C' },
    { id: 'oak', name: { ko: '오크', en: 'Oak' }, hex: '#A67B5B' },
    { id: 'walnut', name: { ko: '월넛', en: 'Walnut' }, hex: '#5C4033' },
    { id: 'charcoal', name: { ko: '차콜', en: 'Charcoal' }, hex: '#3B3B3B' },
    { id: 'blush', name: { ko: '블러시', en: 'Blush' }, hex: '#E8C4C0' },
    { id: 'sky', name: { ko: '스카이', en: 'Sky' }, hex: '#A9C6DE' },
  ],
};

const seller: Preset = {
  id: 'seller',
  name: { ko: '셀러', en: 'Seller' },
  concepts: [
    { id: 'product', label: { ko: '상품', en: 'Product' }, prompt: 'product', default_operation: { op: 'recolor', color: '#D9D9D9' } },
    {
      id: 'background',
      label: { ko: '배경', en: 'Background' },
      prompt: 'background',
      default_operation: { op: 'replace', color: '#FFFFFF' },
    },
    { id: 'table', label: { ko: '테이블', en: 'Table' }, prompt: 'table', default_operation: { op: 'recolor', color: '#EFEFEF' } },
    { id: 'model', label: { ko: '모델', en: 'Model' }, prompt: 'model', default_operation: { op: 'blur', sigma: 6 } },
    { id: 'shadow', label: { ko: '그림자', en: 'Shadow' }, prompt: 'shadow', default_operation: { op: 'blur', sigma: 4 } },
  ],
  protect: [
    { id: 'product', label: { ko: '상품', en: 'Product' }, prompt: 'product', default_on: true },
    { id: 'person', label: { ko: '사람', en: 'Person' }, prompt: 'person', default_on: false },
    { id: 'logo', label: { ko: '텍스트/로고', en: 'Text/logo' }, prompt: 'logo', default_on: true },
  ],
  palette: [
    { id: 'pure-white', name: { ko: '퓨어 화이트', en: 'Pure white' }, hex: '#FFFFFF' },
    { id: 'studio-grey', name: { ko: '스튜디오 그레이', en: 'Studio grey' }, hex: '#EDEDED' },
    { id: 'cream', name: { ko: '크림', en: 'Cream' }, hex: '#F6F0E4' },
    { id: 'sand', name: { ko: '샌드', en: 'Sand' }, hex: '#E3D5BF' },
    { id: 'mint', name: { ko: '민트', en: 'Mint' }, hex: '#CFE8DC' },
    { id: 'powder-blue', name: { ko: '파우더 블루', en: 'Powder blue' }, hex: '#CFDDEB' },
    { id: 'blush', name: { ko: '블러시', en: 'Blush' }, hex: '#F3D9D6' },
    { id: 'black', name: { ko: '블랙', en: 'Black' }, hex: '#111111' },
  ],
};

/** Every preset, in display order. */
export const PRESETS: readonly Preset[] = [interior, seller];

/** The preset with this id, or undefined. */
export function findPreset(id: string): Preset | undefined {
  return PRESETS.find((p) => p.id === id);
}

/** The segmenter prompt for a concept or protect id of a preset (concept first), or undefined when unknown. */
export function promptFor(preset: Preset, id: string): string | undefined {
  return preset.concepts.find((c) => c.id === id)?.prompt ?? preset.protect.find((p) => p.id === id)?.prompt;
}
