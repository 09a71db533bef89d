/**
 * The code lists forms offer: ISO 4217 currencies and ISO 3166-1 countries, with English names.
 * Currencies are the ones Intl knows (the current ISO 4217 list); countries are every alpha-2
 * region Intl names, less the codes that are not ISO 3166-1 countries (withdrawn codes, groupings
 * such as EU and UN, CLDR's private ones). The server still checks only the form of a code
 * (fields.ts), so a code missing here can always be typed.
 */
export interface CodeOption { code: string; name: string }

const NOT_ISO_3166 = new Set(['AC', 'AN', 'BU', 'CP', 'CQ', 'CS', 'DD', 'DG', 'DY', 'EA', 'EU', 'EZ', 'FX', 'HV', 'IC', 'NH', 'QO', 'RH', 'SU', 'TA', 'TP', 'UK', 'UN', 'VD', 'XA', 'XB', 'XK', 'YD', 'YU', 'ZR', 'ZZ']);

let currencies: CodeOption[] | undefined;
let countries: CodeOption[] | undefined;

export function currencyOptions(): CodeOption[] {
  if (!currencies) {
    const names = new Intl.DisplayNames(['en'], { type: 'currency', fallback: 'code' });
    const codes = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('currency') : ['USD', 'EUR', 'GBP'];
    currencies = codes.map((code) => ({ code, name: names.of(code) ?? code }));
  }
  return currencies;
}

export function countryOptions(): CodeOption[] {
  if (!countries) {
    const names = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
    const out: CodeOption[] = [];
    for (let a = 65; a <= 90; a++) {
      for (let b = 65; b <= 90; b++) {
        const code = String.fromCharCode(a, b);
        const name = names.of(code);
        if (name && !NOT_ISO_3166.has(code)) out.push({ code, name });
      }
    }
    countries = out;
  }
  return countries;
}
