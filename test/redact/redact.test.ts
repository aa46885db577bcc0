import { describe, expect, it } from 'vitest';
import {
  REDACTION_KINDS,
  addCounts,
  containsPii,
  emptyCounts,
  luhnValid,
  redact,
  redactionToken,
  type RedactionCounts,
} from '../../src/redact/index.js';

function counts(partial: Partial<RedactionCounts>): RedactionCounts {
  return { ...emptyCounts(), ...partial };
}

const PII = {
  email: ['jane.doe@example.com', 'j.doe+work@mail.example.org'],
  phone: ['+44 20 7946 0958', '(415) 555-2671', '020 7946 0000'],
  card: ['4111 1111 1111 1111', '378282246310005'],
  ip: ['192.168.10.42', '2001:db8:85a3::8a2e:370:7334'],
  secret: [
    'sk' + '-proj-Abc123Def456Ghi789Jkl012Mno345',
    'ghp' + '_0123456789abcdefghijABCDEFGHIJ012345',
    'xoxb-123456789012-abcdefABCDEF',
    'AKIAIOSFODNN7EXAMPLE',
    'abcDEF123456ghiJKL',
    'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
    '0123456789abcdef0123456789abcdef',
  ],
  url_credentials: ['admin:hunter2pass'],
} as const;

const FIXTURE = [
  `Hi, I'm Jane (${PII.email[0]}, backup ${PII.email[1]}).`,
  `Call me at ${PII.phone[0]} or ${PII.phone[1]}; office ${PII.phone[2]}.`,
  `Card: ${PII.card[0]}, amex ${PII.card[1]}.`,
  `Server ${PII.ip[0]} and ${PII.ip[1]}.`,
  `Keys: ${PII.secret[0]}, ${PII.secret[1]}, ${PII.secret[2]}, ${PII.secret[3]},`,
  `Authorization: Bearer ${PII.secret[4]}`,
  `jwt ${PII.secret[5]} api_key=${PII.secret[6]}`,
  `DB: postgres://${PII.url_credentials[0]}@db.internal.example:5432/app`,
  'Released v1.2.3 at 12:30:45 on 2024-01-15, build 1.2.3, order 123456789012.',
].join('\n');

describe('redact', () => {
  it('redacts every kind in the fixture with exact counts', () => {
    const { text, counts: c } = redact(FIXTURE);
    expect(c).toEqual({ email: 2, phone: 3, card: 2, ip: 2, secret: 7, url_credentials: 1 });
    for (const values of Object.values(PII)) {
      for (const value of values) expect(text).not.toContain(value);
    }
    // Structure around findings is kept.
    expect(text).toContain('postgres://[REDACTED:url_credentials]@db.internal.example:5432/app');
    expect(text).toContain('Authorization: Bearer [REDACTED:secret]');
    expect(text).toContain('api_key=[REDACTED:secret]');
    expect(text).toContain('Server [REDACTED:ip] and [REDACTED:ip].');
    // Non-PII numbers survive.
    expect(text).toContain('Released v1.2.3 at 12:30:45 on 2024-01-15, build 1.2.3, order 123456789012.');
  });

  it('is idempotent: redacting redacted text finds nothing', () => {
    const once = redact(FIXTURE).text;
    expect(redact(once)).toEqual({ text: once, counts: emptyCounts() });
    expect(containsPii(once)).toBe(false);
  });

  it('uses [REDACTED:<kind>] tokens', () => {
    expect(redactionToken('email')).toBe('[REDACTED:email]');
    expect(redact('write to a@b.io').text).toBe('write to [REDACTED:email]');
  });

  it('counts secrets and URL credentials before phones, so digits inside them are not phones', () => {
    const r = redact('key sk' + '-4155552671415555267141555526 and https://bob:4155552671@host.example/x and token=+14155552671abcdef01');
    expect(r.counts).toEqual(counts({ secret: 2, url_credentials: 1 }));
    expect(r.text).not.toMatch(/\d{4}/);
  });

  it('keeps scheme, host and port of a URL with credentials', () => {
    expect(redact('redis://:s3cret@cache:6379/0').text).toBe('redis://[REDACTED:url_credentials]@cache:6379/0');
    expect(redact('https://example.com:8080/path?q=1').counts).toEqual(emptyCounts());
  });
});

describe('card', () => {
  it('requires the Luhn check', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    for (const bad of ['4111111111111112', '4111 1111 1111 1112', '4111-1111-1111-1112']) {
      const r = redact(`card ${bad} end`);
      expect(r.counts).toEqual(emptyCounts());
      expect(r.text).toBe(`card ${bad} end`);
    }
  });

  it('accepts contiguous, spaced and dashed cards of 13-19 digits', () => {
    const r = redact('a 4111-1111-1111-1111 b 5500 0000 0000 0004 c 3782 822463 10005 d 4222222222222 e 6011000990139424');
    expect(r.counts).toEqual(counts({ card: 5 }));
  });

  it('finds a card right after an unrelated number, and not digits glued to letters or after +', () => {
    expect(redact('qty 12 4111 1111 1111 1111 exp 12/25').text).toBe('qty 12 [REDACTED:card] exp 12/25');
    expect(redact('ID4111111111111111').counts).toEqual(emptyCounts());
    expect(redact('+411111111111111').counts).toEqual(counts({ phone: 1 }));
  });
});

describe('ip', () => {
  it('treats a dotted quad as an IP but not versions, times or longer dotted numbers', () => {
    expect(redact('host 1.2.3.4 up').counts).toEqual(counts({ ip: 1 }));
    for (const notIp of ['v1.2.3', 'v1.2.3.4', '1.2.3', '1.2.3.4.5', '12:30:45', '12:30', '256.1.1.1', '01.02.03.04', 'std::vector', 'abc::def', '::1', '00:1a:2b:3c:4d:5e']) {
      expect(redact(`x ${notIp} y`).counts, notIp).toEqual(emptyCounts());
    }
  });

  it('finds IPv6 forms and keeps the port', () => {
    const r = redact('a fe80::1 b [2001:db8::1]:443 c ::ffff:10.0.0.1 d 2001:0db8:0000:0000:0000:ff00:0042:8329 e 10.0.0.1:8080.');
    expect(r.counts).toEqual(counts({ ip: 5 }));
    expect(r.text).toBe('a [REDACTED:ip] b [[REDACTED:ip]]:443 c [REDACTED:ip] d [REDACTED:ip] e [REDACTED:ip]:8080.');
  });
});

describe('phone', () => {
  it('finds international, NANP and European formats', () => {
    const phones = [
      '+1 415 555 2671',
      '+1-415-555-2671',
      '+14155552671',
      '(+44) 20 7946 0958',
      '+49 (0)30 1234567',
      '+33 1 23 45 67 89',
      '1-415-555-2671',
      '415.555.2671',
      '(415) 555-2671',
      '020 7946 0958',
      '07700 900123',
      '01 23 45 67 89',
      '030/1234567',
      '06-12345678',
      '0044 20 7946 0958',
    ];
    for (const phone of phones) {
      const r = redact(`call ${phone} now`);
      expect(r.text, phone).toBe('call [REDACTED:phone] now');
      expect(r.counts, phone).toEqual(counts({ phone: 1 }));
    }
  });

  it('leaves ids, short numbers, dates, decimals and amounts alone', () => {
    const notPhones = [
      '4155552671',
      '123456789012',
      '555-2671',
      '2024-01-15',
      '15.01.2024',
      '01.02.2024 1030',
      '3.14159265358979',
      '1 000 000 000',
      '12/25',
      'ID0207946095',
      '123e4567-e89b-12d3-a456-426614174000',
    ];
    for (const text of notPhones) expect(redact(`x ${text} y`).counts, text).toEqual(emptyCounts());
  });

  it('splits two phones in one run of digits', () => {
    expect(redact('020 7946 0958 / +1 415 555 2671').counts).toEqual(counts({ phone: 2 }));
  });
});

describe('secret', () => {
  it('finds vendor tokens, HTTP credentials, JWTs, PEM keys and credential key=value pairs', () => {
    const secrets = [
      'sk' + '-abcdefghij0123456789abcdefghij0123456789abcdefgh',
      'sk' + '-ant-api03-abcdefghijklmnopqrstuvwxyz0123',
      'sk_live_abcdefghij0123456789',
      'gho_abcdefghijklmnopqrstuvwxyz0123456789',
      'ghs_abcdefghijklmnopqrstuvwxyz0123456789',
      'github_pat' + '_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz',
      'xoxp-1234567890-abcdefghij',
      'ASIAABCDEFGHIJKLMNOP',
      'Basic dXNlcjpwYXNz',
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----',
      'token=aGVsbG8gd29ybGQgdGhpcyBpcyBhIHRva2Vu1',
      'client_secret: "0123456789abcdef0123"',
      'PASSWORD=hunter2',
      '"password": "correct horse battery staple"',
      'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    ];
    for (const secret of secrets) {
      const r = redact(`x ${secret} y`);
      expect(r.counts, secret).toEqual(counts({ secret: 1 }));
      expect(r.text, secret).toContain('[REDACTED:secret]');
    }
    expect(redact('"password": "correct horse battery staple"').text).toBe('"password": "[REDACTED:secret]"');
  });

  it('leaves prose and short values alone', () => {
    for (const text of ['bearer bonds', 'Basic authentication', 'max_tokens=256', 'token: a word', 'task-' + 'management-system-v2', 'the secret: tell nobody', 'PWD=/home/user']) {
      expect(redact(text).counts, text).toEqual(emptyCounts());
    }
  });

  it('counts a Bearer JWT once', () => {
    const r = redact(`Authorization: Bearer ${PII.secret[5]}`);
    expect(r).toEqual({ text: 'Authorization: Bearer [REDACTED:secret]', counts: counts({ secret: 1 }) });
  });
});

describe('counts helpers', () => {
  it('lists the kinds and adds counts', () => {
    expect([...REDACTION_KINDS].sort()).toEqual(['card', 'email', 'ip', 'phone', 'secret', 'url_credentials']);
    const a = counts({ email: 1, phone: 2 });
    const b = counts({ email: 3, secret: 1 });
    expect(addCounts(a, b)).toEqual(counts({ email: 4, phone: 2, secret: 1 }));
    expect(a).toEqual(counts({ email: 1, phone: 2 }));
    expect(emptyCounts()).not.toBe(emptyCounts());
  });

  it('containsPii agrees with redact', () => {
    expect(containsPii('nothing to see, v1.2.3 at 12:30')).toBe(false);
    expect(containsPii('mail me: x@y.com')).toBe(true);
    expect(containsPii('+44 20 7946 0958')).toBe(true);
  });
});

describe('linear time on 1 MB pathological inputs', () => {
  const MB = 1 << 20;
  const fill = (unit: string): string => unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB);
  const inputs: Record<string, string> = {
    letters: fill('a'),
    digits: fill('1'),
    spacedDigits: fill('1 '),
    dashedDigits: fill('12-'),
    slashedDigits: fill('12/'),
    dottedDigits: fill('1.'),
    plusDigits: fill('+1 '),
    parens: fill('(1'),
    colons: fill('a1:'),
    doubleColons: fill('1::'),
    localPart: `${fill('a.')}@`,
    domainLabels: `x@${fill('a1.')}`,
    ats: fill('a@a.'),
    schemes: fill('http://'),
    userinfo: `http://${fill('a:')}`,
    unterminatedQuotes: fill('"password": "'),
    keyWithSpaces: `token${fill(' ')}`,
    skPrefix: fill('sk-'),
    jwtHeaders: fill('eyJ.'),
    pemHeaders: fill('-----BEGIN RSA PRIVATE KEY-----'),
    phoneList: fill('020 7946 0958 '),
    emoji: fill('😀'),
  };
  for (const [name, input] of Object.entries(inputs)) {
    it(`completes on ${name}`, () => {
      const r = redact(input);
      expect(typeof r.text).toBe('string');
      expect(containsPii(input)).toBe(Object.values(r.counts).some((n) => n > 0));
    });
  }
});
