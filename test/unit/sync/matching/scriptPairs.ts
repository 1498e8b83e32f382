/**
 * Labelled pairs of organisation names per script: an Ion customer's name, an existing account's name, and whether
 * they are the same organisation. Written by hand from well-known companies' names as their registries and
 * websites spell them, with the variants people type: legal forms added or dropped, case, accents and vowel points,
 * full- and half-width letters, spaces, one letter off. The "different" pairs share a word or look alike on purpose.
 * `scripts.test.ts` measures precision and recall on them (test/unit/sync/matching/README.md).
 */
export type Script = "Latin" | "Cyrillic" | "Greek" | "Chinese" | "Japanese" | "Korean" | "Arabic" | "Hebrew" | "Transliterated";

export interface LabelledPair {
  customer: string;
  account: string;
  same: boolean;
}

const same = (customer: string, account: string): LabelledPair => ({ customer, account, same: true });
const different = (customer: string, account: string): LabelledPair => ({ customer, account, same: false });

export const SCRIPT_PAIRS: Readonly<Record<Script, readonly LabelledPair[]>> = {
  Latin: [
    same("Contoso Ltd", "Contoso Limited"),
    same("Müller GmbH & Co. KG", "Muller GmbH"),
    same("Maersk A/S", "Maersk"),
    same("Cemex S.A.B. de C.V.", "CEMEX"),
    same("Bimbo S.A. de C.V.", "Bimbo SA"),
    same("Tienda Azul S. de R.L. de C.V.", "Tienda Azul"),
    same("Łódź Logistics Sp. z o.o.", "Lodz Logistics"),
    same("Işık Yazılım Ltd. Şti.", "Isik Yazilim"),
    same("Koç Holding A.Ş.", "Koc Holding"),
    same("Fabrikam B.V.", "Fabrikamm BV"),
    same("Smith & Co.", "Smith"),
    different("Contoso Logistics", "Contoso Labs"),
    different("Fabrikam", "Fabrikam Solutions International"),
    different("Koç Holding", "Sabancı Holding"),
    different("Tienda Azul", "Tienda Roja"),
    different("Smith & Jones", "Smith & Wesson"),
  ],
  Cyrillic: [
    same("ООО «Ромашка»", "Ромашка"),
    same("ПАО Газпром", "Газпром"),
    same("Яндекс", "ЯНДЕКС"),
    same("Лукойл", "Лукойл"),
    same("Северсталь", "Северстль"),
    same("Ростелеком", "Ростелекомм"),
    same("Сбербанк России", "Сбербанк Россия"),
    same("АО «Тинькофф Банк»", "Тинькофф Банк"),
    same("Ёлка ООО", "Елка"),
    different("Газпром", "Газпромбанк"),
    different("Ростелеком", "Ростех"),
    different("Лукойл", "Роснефть"),
    different("Сбербанк", "Совкомбанк"),
    different("Альфа-Банк", "Альфа-Страхование"),
  ],
  Greek: [
    same("Αθήνα Α.Ε.", "ΑΘΗΝΑ"),
    same("Οργανισμός Τηλεπικοινωνιών Ελλάδος Α.Ε.", "Οργανισμός Τηλεπικοινωνιών Ελλάδος"),
    same("Κωτσόβολος", "Κωτσοβολος"),
    same("Παπαστράτος ΑΒΕΕ", "Παπαστρατος"),
    same("Μυτιληναίος Α.Ε.", "ΜΥΤΙΛΗΝΑΙΟΣ"),
    same("Σκλαβενίτης", "Σκλαβενίτης Ε.Π.Ε."),
    same("Πλαίσιο Computers", "Πλαισιο Computers"),
    different("Τράπεζα Πειραιώς", "Τράπεζα Αττικής"),
    different("Μυτιληναίος", "Μαρινόπουλος"),
    different("Κωτσόβολος", "Κωνσταντίνου"),
    different("Πλαίσιο Computers", "Πλαίσιο Ενέργεια"),
  ],
  Chinese: [
    same("腾讯科技有限公司", "腾讯科技"),
    same("阿里巴巴集团控股有限公司", "阿里巴巴集团控股"),
    same("华为技术有限公司", "华为技术"),
    same("小米科技有限责任公司", "小米科技"),
    same("比亚迪股份有限公司", "比亚迪"),
    same("ＡＢＣ科技有限公司", "ABC科技"),
    same("联想集团", "联想集团有限公司"),
    same("京东", "京东"),
    different("腾讯科技", "腾讯音乐"),
    different("华为技术", "华润置地"),
    different("中国银行", "中国建设银行"),
    different("小米科技", "小米金融"),
    different("京东", "东京"),
  ],
  Japanese: [
    same("トヨタ自動車株式会社", "トヨタ自動車"),
    same("株式会社日立製作所", "日立製作所"),
    same("ソニーグループ株式会社", "ソニーグループ"),
    same("㈱ファーストリテイリング", "ファーストリテイリング"),
    same("ｿﾆｰｸﾞﾙｰﾌﾟ", "ソニーグループ"),
    same("任天堂株式会社", "任天堂"),
    same("パナソニック", "パナソニツク"),
    different("トヨタ自動車", "トヨタ紡織"),
    different("日立製作所", "日立建機"),
    different("三菱商事", "三井物産"),
    different("ソニー銀行", "ソニー生命"),
  ],
  Korean: [
    same("삼성전자 주식회사", "삼성전자"),
    same("㈜엘지화학", "엘지화학"),
    same("현대자동차", "현대 자동차"),
    same("삼성전자", "삼성전자주식회사"),
    same("카카오", "카카오 주식회사"),
    same("네이버", "네이바"),
    same("에스케이하이닉스", "에스케이하이닉스"),
    different("삼성전자", "삼성물산"),
    different("현대자동차", "현대중공업"),
    different("엘지화학", "엘지전자"),
    different("카카오", "카카오뱅크"),
  ],
  Arabic: [
    same("أرامكو السعودية", "ارامكو السعودية"),
    same("شركة الاتصالات السعودية", "الاتصالات السعودية"),
    same("سابك", "سابك ش.م.ع"),
    same("بنك الراجحي", "بنك الراجحى"),
    same("المراعي", "المراعى"),
    same("طيران الإمارات", "طيران الامارات"),
    same("مَصْرِف الرَّيَّان", "مصرف الريان"),
    different("بنك الراجحي", "بنك الرياض"),
    different("طيران الإمارات", "طيران الخليج"),
    different("أرامكو السعودية", "سابك"),
    different("الاتصالات السعودية", "الاتصالات الإماراتية"),
  ],
  Hebrew: [
    same('אל על בע"מ', "אל על"),
    same("טבע תעשיות פרמצבטיות בע״מ", "טבע תעשיות פרמצבטיות"),
    same("בנק הפועלים", 'בנק הפועלים בע"מ'),
    same("שטראוס גרופ", "שטראוס גרופ בעמ"),
    same("אלביט מערכות", "אלביט מערכות"),
    same("בַּנְק לְאֻמִּי", "בנק לאומי"),
    different("בנק הפועלים", "בנק לאומי"),
    different("אל על", "ישראייר"),
    different("אלביט מערכות", "אלביט הדמיה"),
    different("טבע תעשיות", "טבע נאות"),
  ],
  // A non-Latin name against its Latin spelling: found and suggested at most, never auto-mapped.
  Transliterated: [
    same("Газпром", "Gazprom"),
    same("ООО Ромашка", "Romashka LLC"),
    same("Αθήνα Α.Ε.", "Athina SA"),
    same("トヨタ", "Toyota"),
    same("カカオ", "Kakao"),
    same("카카오", "Kakao"),
    same("Яндекс", "Yandex"),
    same("Лукойл", "Lukoil"),
    same("Samsung Electronics", "삼성전자"),
    different("Газпром", "Gazelle"),
    different("Αθήνα", "Athens Tech"),
    different("トヨタ紡織", "Toyota"),
    different("Лукойл", "Lucky Oil"),
  ],
};
