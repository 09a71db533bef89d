import request from 'supertest';
import type { TestApp } from './app';
import { PASSWORD } from './factories';

export type Agent = ReturnType<typeof request.agent>;

export function csrfFrom(html: string): string {
  const m = /name="csrf-token" content="([^"]+)"/.exec(html) ?? /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m?.[1]) throw new Error('no CSRF token in page');
  return m[1];
}

/** A browser-like client: cookie jar plus the session's CSRF token for form posts. */
export class Client {
  csrf = '';
  constructor(public readonly agent: Agent) {}

  static anonymous(app: TestApp['app']): Client {
    return new Client(request.agent(app));
  }

  /** Logs in through the real login form. */
  static async login(app: TestApp['app'], email: string, password = PASSWORD): Promise<Client> {
    const c = Client.anonymous(app);
    const res = await c.submit('/login', { email, password }, '/login');
    if (res.status !== 303) throw new Error(`login as ${email} failed: ${res.status}`);
    // The password opens logins of several parties: the test must choose (see logins-per-party.test.ts).
    if (res.headers.location === '/login/choose') throw new Error(`login as ${email} opens several accounts: choose one`);
    await c.refreshCsrf();
    return c;
  }

  async refreshCsrf(path = '/account'): Promise<void> {
    const page = await this.agent.get(path);
    this.csrf = csrfFrom(page.text);
  }

  get(path: string) {
    return this.agent.get(path);
  }

  /** Posts a form with the CSRF token, fetching one first from `from` if given. */
  async submit(path: string, form: Record<string, string> = {}, from?: string) {
    if (from) {
      const page = await this.agent.get(from);
      this.csrf = csrfFrom(page.text);
    }
    return this.agent.post(path).type('form').send({ ...form, _csrf: this.csrf });
  }
}
