import { transliterate } from "transliteration";

import { isGuid, normalizeGuid } from "../../shared/guid";
import { hostOf } from "../rows/text";

/**
 * Legal-form words dropped from the end of organisation names before comparing ("Contoso Ltd" = "Contoso Limited"
 * = "CONTOSO"). Written as people write them; each is folded like a name (`foldName`) when the set is built, so
 * "Α.Ε." is stored as "αε" and "בע\"מ" as "בעמ". Multi-letter forms written with dots, spaces or a slash ("b v",
 * "a/s", "s r o", "ش م م") are joined before the check (`popLegalForms`).
 */
const LEGAL_SUFFIX_SPELLINGS = [
  // English, Commonwealth, Asia-Pacific
  "ltd",
  "limited",
  "llc",
  "llp",
  "lp",
  "inc",
  "incorporated",
  "corp",
  "corporation",
  "co",
  "company",
  "pty",
  "plc",
  "pte",
  "pvt",
  "private",
  "holdings",
  "group",
  "dac",
  "pllc",
  "lc",
  "ulc",
  "bhd",
  "sdn",
  "kk",
  "gk",
  "tbk",
  // German, Dutch, Nordic
  "gmbh",
  "mbh",
  "ag",
  "kg",
  "kgaa",
  "ohg",
  "ug",
  "ev",
  "eg",
  "gbr",
  "bv",
  "nv",
  "vof",
  "cv",
  "oy",
  "oyj",
  "ab",
  "as",
  "asa",
  "aps",
  "is",
  "hf",
  "ehf",
  // Romance languages, Latin America
  "cie",
  "sa",
  "sas",
  "sarl",
  "sasu",
  "eurl",
  "srl",
  "spa",
  "sapa",
  "sl",
  "slu",
  "ltda",
  "sagl",
  "sab",
  "sapi",
  "sadecv",
  "sderl",
  "eireli",
  "lda",
  // Central and Eastern Europe, Turkey
  "kft",
  "zrt",
  "nyrt",
  "bt",
  "sro",
  "spzoo",
  "zoo",
  "doo",
  "dd",
  "ad",
  "ood",
  "eood",
  "sti",
  // Cyrillic (Russia, Ukraine, Bulgaria, Kazakhstan...)
  "ооо",
  "оао",
  "зао",
  "пао",
  "ао",
  "ип",
  "тоо",
  "тов",
  "пат",
  "ат",
  "еоод",
  "оод",
  "ад",
  // Greek
  "αε",
  "επε",
  "οε",
  "εε",
  "ικε",
  "αβεε",
  "μεπε",
  // Hebrew, Arabic
  'בע"מ',

  "ذ.م.م",
  "ش.م.م",
  "ش.م.ع",
  "ش.م.ل",
  "ش.ذ.م.م",
  // Chinese, Japanese, Korean written as a separate word (also stripped when written in the name: `DENSE_LEGAL_AFFIXES`)
  "有限公司",
  "股份有限公司",
  "有限责任公司",
  "有限責任公司",
  "公司",
  "集团",
  "集團",
  "株式会社",
  "有限会社",
  "合同会社",
  "合資会社",
  "合名会社",
  "주식회사",
  "유한회사",
  "유한책임회사",
];
/** Legal forms written before the name: "ООО «Ромашка»", "PT Telkom", "株式会社トヨタ", "شركة أرامكو". */
const LEGAL_PREFIX_SPELLINGS = [
  "ооо",
  "оао",
  "зао",
  "пао",
  "ао",
  "ип",
  "тоо",
  "тов",
  "пат",
  "ат",
  "pt",
  "شركة",
  "مؤسسة",
  "株式会社",
  "有限会社",
  "合同会社",
  "주식회사",
  "유한회사",
];
/** Chinese, Japanese and Korean legal forms also written inside the same word as the name (no space): stripped from its ends. */
const DENSE_LEGAL_AFFIX_SPELLINGS = [
  "股份有限公司",
  "有限责任公司",
  "有限責任公司",
  "有限公司",
  "集团",
  "集團",
  "株式会社",
  "有限会社",
  "合同会社",
  "주식회사",
  "유한회사",
];
/** Words left dangling once the legal form after them is gone ("Smith & Co." → "smith"; "S.A. de C.V." → "sa de" → ""). */
const CONNECTORS = new Set(["and", "und", "et", "de"]);
/** Multi-letter forms written with dots or spaces, joined before the suffix check ("b.v." → "bv"). */
const DOTTED_FORMS: [RegExp, string][] = [
  [/\bb\s*v\b/g, "bv"],
  [/\bn\s*v\b/g, "nv"],
  [/\bs\s*a\s*r\s*l\b/g, "sarl"],
  [/\bs\s*a\s*s\b/g, "sas"],
  [/\bs\s*r\s*l\b/g, "srl"],
  [/\bs\s*p\s*a\b/g, "spa"],
  [/\bs\s*a\s*p\s*i\b/g, "sapi"],
  [/\bs\s*a\s*b\b/g, "sab"],
  [/\bs\s*de\s*r\s*l\b/g, "sderl"],
  [/\bs\s*a\b/g, "sa"],
  [/\bp\s*l\s*c\b/g, "plc"],
  [/\bl\s*l\s*c\b/g, "llc"],
  [/\bl\s*l\s*p\b/g, "llp"],
  [/\bg\s*m\s*b\s*h\b/g, "gmbh"],
  [/\bs\s*p\s*z\s*o\s*o\b/g, "spzoo"],
];

const SHORT_WORD = /\b[a-z]{1,2}\b/;

/** Free mail providers: a contact e-mail there says nothing about the organisation. */
export const PUBLIC_MAIL_DOMAINS = new Set([
  "gmail.com",
  "googlemail.com",
  "outlook.com",
  "hotmail.com",
  "hotmail.co.uk",
  "live.com",
  "live.co.uk",
  "msn.com",
  "yahoo.com",
  "yahoo.co.uk",
  "yahoo.fr",
  "ymail.com",
  "icloud.com",
  "me.com",
  "mac.com",
  "aol.com",
  "proton.me",
  "protonmail.com",
  "gmx.com",
  "gmx.de",
  "gmx.net",
  "web.de",
  "mail.com",
  "zoho.com",
  "yandex.com",
  "yandex.ru",
  "mail.ru",
  "qq.com",
  "163.com",
  "comcast.net",
  "att.net",
  "verizon.net",
  "btinternet.com",
  "orange.fr",
  "free.fr",
  "t-online.de",
  "libero.it",
  "fastmail.com",
  "hey.com",
  "tutanota.com",
]);

/**
 * Letters that Unicode does not decompose into a base letter and a mark, spelled as people type them without the
 * mark (`Ł` → l, Turkish dotless `ı` → i), plus one spelling for letters written two ways in Greek, Hebrew and
 * Arabic (final forms, hamza seats, ta marbuta, Persian yeh and kaf).
 */
const LETTER_FOLDS: Record<string, string> = {
  ß: "ss",
  æ: "ae",
  ø: "o",
  œ: "oe",
  ł: "l",
  đ: "d",
  ħ: "h",
  ı: "i",
  ŧ: "t",
  þ: "th",
  ð: "d",
  ĸ: "k",
  ς: "σ",
  ך: "כ",
  ם: "מ",
  ן: "נ",
  ף: "פ",
  ץ: "צ",
  ة: "ه",
  ى: "ي",
  ی: "ي",
  ک: "ك",
  ٱ: "ا",
  // Small kana as their full-size letters: registries and older systems often store "パナソニツク", "キヤノン".
  ぁ: "あ",
  ぃ: "い",
  ぅ: "う",
  ぇ: "え",
  ぉ: "お",
  っ: "つ",
  ゃ: "や",
  ゅ: "ゆ",
  ょ: "よ",
  ゎ: "わ",
  ァ: "ア",
  ィ: "イ",
  ゥ: "ウ",
  ェ: "エ",
  ォ: "オ",
  ッ: "ツ",
  ャ: "ヤ",
  ュ: "ユ",
  ョ: "ヨ",
  ヮ: "ワ",
  ヵ: "カ",
  ヶ: "ケ",
};
const LETTER_FOLD_PATTERN = new RegExp(`[${Object.keys(LETTER_FOLDS).join("")}]`, "g");
/**
 * Marks dropped after NFKD: Latin, Greek and Cyrillic diacritics (é, ά, ё), Hebrew points and cantillation, Arabic
 * harakat and the tatweel stretch. Other marks (Japanese voicing marks, Indic vowel signs) change the word and are
 * kept, as part of it.
 */

const DROPPED_MARK_RANGES: [number, number][] = [
  [0x0300, 0x036f], // combining diacritical marks
  [0x1ab0, 0x1aff],
  [0x1dc0, 0x1dff],
  [0x20d0, 0x20ff],
  [0xfe20, 0xfe2f],
  [0x0591, 0x05bd], // Hebrew cantillation and points
  [0x05bf, 0x05bf],
  [0x05c1, 0x05c2],
  [0x05c4, 0x05c5],
  [0x05c7, 0x05c7],
  [0x0610, 0x061a], // Arabic harakat, tatweel, superscript alef and Quranic marks
  [0x0640, 0x0640],
  [0x064b, 0x065f],
  [0x0670, 0x0670],
  [0x06d6, 0x06dc],
  [0x06df, 0x06e4],
  [0x06e7, 0x06e8],
  [0x06ea, 0x06ed],
];
const hex = (code: number) => `\\u${code.toString(16).padStart(4, "0")}`;
const DROPPED_MARKS = new RegExp(`[${DROPPED_MARK_RANGES.map(([from, to]) => `${hex(from)}-${hex(to)}`).join("")}]`, "g");

/**
 * Compatibility decomposition (full-width "ＡＢＣ" = "ABC", "㈱" = "(株)", Hangul syllables into their letters, so
 * one wrong vowel is one edit in a longer word), then the marks and letter folds above. The result stays decomposed:
 * it is only ever compared with names folded the same way.
 */
export function stripDiacritics(text: string): string {
  return text
    .normalize("NFKD")
    .replace(DROPPED_MARKS, "")
    .replace(LETTER_FOLD_PATTERN, (letter) => LETTER_FOLDS[letter]!);
}

/** Lower case and `stripDiacritics`, with `&` and `+` spelled "and". */
function foldName(name: string): string {
  return stripDiacritics(name.toLowerCase()).replace(/&/g, " and ").replace(/\+/g, " and ");
}

/** Scripts written without spaces between words (Chinese characters, kana). */
const DENSE_SCRIPT = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u;

/** A word in Chinese characters or kana: two of them say as much as three Latin letters (the index's minimum). */
export function isDenseWord(word: string): boolean {
  return DENSE_SCRIPT.test(word);
}
/** Anything a folded Latin name does not contain: the name needs the Unicode-aware path and has a transliteration. */
const OUTSIDE_ASCII = /[\u0080-\uffff]/;

/**
 * Joins the words of a Chinese or Japanese name that spaces or punctuation split ("トヨタ 自動車" = "トヨタ自動車"):
 * these scripts do not separate words, so a space says nothing and the name compares as one word. (Intl.Segmenter
 * was tried for words and split near-identical spellings differently: "パナソニック" → "パナ ソニック" but
 * "パナソニツク" stays whole, so a one-letter variant cost a space as well.)
 */
function joinDenseRuns(tokens: string[]): string[] {
  const joined: string[] = [];
  for (const token of tokens) {
    const previous = joined[joined.length - 1];
    if (previous !== undefined && DENSE_SCRIPT.test(previous.charAt(previous.length - 1)) && DENSE_SCRIPT.test(token.charAt(0))) {
      joined[joined.length - 1] = previous + token;
    } else joined.push(token);
  }
  return joined;
}

const foldAll = (spellings: readonly string[]): string[] => spellings.map((s) => foldName(s).replace(/[^\p{L}\p{M}\p{N}]+/gu, ""));
/** "(株)" (also written "㈱"), "(有)", "(주)", "(유)": legal forms in parentheses before or after a Japanese or Korean name. */
const PARENTHESISED_LEGAL_FORMS = new RegExp(
  ["(株)", "(有)", "(주)", "(유)"].map((form) => foldName(form).replace(/[()]/g, "\\$&")).join("|"),
  "g",
);
const LEGAL_SUFFIXES = new Set(foldAll(LEGAL_SUFFIX_SPELLINGS));
const LEGAL_PREFIXES = new Set(foldAll(LEGAL_PREFIX_SPELLINGS));
/** Longest first, so "股份有限公司" is stripped whole rather than leaving "股份". */
const DENSE_LEGAL_AFFIXES = foldAll(DENSE_LEGAL_AFFIX_SPELLINGS).sort((a, b) => b.length - a.length);

/**
 * Drops legal forms from the end: whole words ("ltd"), runs of one-letter words that spell one ("a s" from "A/S",
 * "s r o", "ش م م"), and a connector the form leaves dangling ("gmbh and co kg" → "gmbh and" → "gmbh" → "").
 * Always keeps one word, so "Company" stays a name.
 */
function popLegalForms(tokens: string[]): void {
  let popped = false;
  while (tokens.length > 1) {
    const last = tokens[tokens.length - 1]!;
    if (LEGAL_SUFFIXES.has(last)) {
      tokens.pop();
      popped = true;
      continue;
    }
    if (popped && CONNECTORS.has(last)) {
      tokens.pop();
      continue;
    }
    let letters = 0;
    while (letters < tokens.length - 1 && tokens[tokens.length - 1 - letters]!.length === 1) letters++;
    let joined = false;
    for (let run = letters; run >= 2 && !joined; run--) {
      if (LEGAL_SUFFIXES.has(tokens.slice(-run).join(""))) {
        tokens.splice(tokens.length - run, run);
        joined = popped = true;
      }
    }
    if (!joined) break;
  }
}

/** Legal forms fused to a Chinese, Japanese or Korean name ("トヨタ自動車株式会社", "株式会社トヨタ"), stripped from the word's ends. */
function stripDenseAffixes(tokens: string[]): void {
  for (const affix of DENSE_LEGAL_AFFIXES) {
    const last = tokens[tokens.length - 1]!;
    if (last.length > affix.length && last.endsWith(affix)) tokens[tokens.length - 1] = last.slice(0, -affix.length);
    const first = tokens[0]!;
    if (first.length > affix.length && first.startsWith(affix)) tokens[0] = first.slice(affix.length);
  }
}

/**
 * Normalised organisation name tokens: lower case, no diacritics, '&' = 'and', no punctuation, no legal forms.
 * Letters of every script are kept (Cyrillic, Greek, Arabic, Hebrew as written, Hangul as its letters, Chinese and
 * Japanese words joined), so names in those scripts compare as Latin names do.
 */
export function nameTokens(name: string | undefined | null): string[] {
  if (!name) return [];
  let text = foldName(name);
  // Apostrophes, the Catalan middle dot and Hebrew abbreviation marks join the letters around them ("O'Neil", "בע\"מ").
  text = text.replace(/['’`·]/g, "");
  const ascii = !OUTSIDE_ASCII.test(text);
  if (ascii) text = text.replace(/[^a-z0-9/]+/g, " ");
  else {
    text = text
      .replace(PARENTHESISED_LEGAL_FORMS, " ")
      .replace(/(\p{Script=Hebrew})["״׳]/gu, "$1")
      .replace(/[^\p{L}\p{M}\p{N}/]+/gu, " ");
  }
  // Every dotted form that changes the text is split into parts of at most five letters, one of them a word of one
  // or two letters: names without such a word (most) skip the fifteen patterns.
  if (SHORT_WORD.test(text)) for (const [pattern, joined] of DOTTED_FORMS) text = text.replace(pattern, joined);
  let tokens = text.split(/[\s/]+/).filter((t) => t.length > 0);
  if (tokens.length === 0) return tokens;
  if (!ascii) {
    if (DENSE_SCRIPT.test(text)) tokens = joinDenseRuns(tokens);
    while (tokens.length > 1 && LEGAL_PREFIXES.has(tokens[0]!)) tokens.shift();
    stripDenseAffixes(tokens);
  }
  // Drop legal forms only at the end (and "the" at the start), so "Company Store" keeps its words.
  popLegalForms(tokens);
  if (tokens.length > 1 && tokens[0] === "the") tokens.shift();
  return tokens;
}

export function normalizeName(name: string | undefined | null): string {
  return nameTokens(name).join(" ");
}

/**
 * The name's tokens spelled in Latin letters (transliteration, npm package `transliteration`), or undefined when
 * the name is already Latin. The matcher compares them with Latin names to suggest "Газпром" for "Gazprom"; a
 * transliteration is a guess (Chinese characters read as Mandarin, Arabic and Hebrew without vowels), so it is
 * never enough to map on its own.
 */
export function latinNameTokens(tokens: readonly string[]): string[] | undefined {
  const joined = tokens.join(" ");
  if (!OUTSIDE_ASCII.test(joined)) return undefined;
  const latin = nameTokens(transliterate(joined.normalize("NFC")));
  return latin.length > 0 && latin.join(" ") !== joined ? latin : undefined;
}

/** Domain of a business e-mail, or undefined for free mail providers. */
export function businessEmailDomain(email: string | undefined | null): string | undefined {
  if (!email || !email.includes("@")) return undefined;
  const host = hostOf(email);
  if (!host || PUBLIC_MAIL_DOMAINS.has(host)) return undefined;
  return host;
}

/** A domain usable as an organisation signal (not a free mail provider). */
export function organisationDomain(value: string | undefined | null): string | undefined {
  const host = hostOf(value);
  if (!host || PUBLIC_MAIL_DOMAINS.has(host)) return undefined;
  return host;
}

export function normalizePostalCode(value: string | undefined | null): string | undefined {
  if (!value) return undefined;
  const compact = value.toUpperCase().replace(/[^A-Z0-9]/g, "");
  return compact === "" ? undefined : compact;
}

const COUNTRY_NAMES: Record<string, string> = {
  "united states": "US",
  "united states of america": "US",
  usa: "US",
  "u s a": "US",
  "u s": "US",
  america: "US",
  "united kingdom": "GB",
  uk: "GB",
  "great britain": "GB",
  england: "GB",
  scotland: "GB",
  wales: "GB",
  germany: "DE",
  deutschland: "DE",
  france: "FR",
  netherlands: "NL",
  "the netherlands": "NL",
  holland: "NL",
  nederland: "NL",
  belgium: "BE",
  spain: "ES",
  espana: "ES",
  italy: "IT",
  italia: "IT",
  ireland: "IE",
  canada: "CA",
  australia: "AU",
  "new zealand": "NZ",
  sweden: "SE",
  norway: "NO",
  denmark: "DK",
  finland: "FI",
  austria: "AT",
  switzerland: "CH",
  poland: "PL",
  portugal: "PT",
  mexico: "MX",
  brazil: "BR",
  india: "IN",
  japan: "JP",
  singapore: "SG",
  "south africa": "ZA",
};

/** ISO 3166-1 alpha-2 code from a code or a common English/native name. */
export function normalizeCountry(value: string | undefined | null): string | undefined {
  if (!value) return undefined;
  const text = stripDiacritics(value.trim().toLowerCase())
    .replace(/[^a-z ]/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  if (text === "") return undefined;
  if (/^[a-z]{2}$/.test(text)) return text === "uk" ? "GB" : text.toUpperCase();
  return COUNTRY_NAMES[text];
}

/** Lower-case bare GUID of a Microsoft tenant id (braces allowed), else undefined. */
export function normalizeTenantId(value: string | undefined | null): string | undefined {
  return isGuid(value) ? normalizeGuid(value) : undefined;
}
