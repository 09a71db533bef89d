import { Router, type Request, type Response, type NextFunction } from 'express';
import { ROUTER_OPTIONS } from '../../web/router';
import QRCode from 'qrcode';
import type { Db } from '../../db/knex';
import { FieldErrors } from '../../domain/errors';
import { isStaff } from '../../domain/tenancy/roles';
import { LOGIN_REFUSAL_MESSAGES } from '../../domain/tenancy/status';
import { parseForm, submitForm } from '../../web/forms';
import { actor, principal } from '../../web/principal';
import { flash, homeFor } from '../../web/render';
import { toPrincipal } from '../../web/passport';
import type { LoginThrottle } from '../../web/throttle';
import * as auth from './auth.service';
import type { LoginRecord } from './auth.service';
import { changePasswordSchema, disableTotpSchema, loginSchema, totpCodeSchema } from './auth.schemas';
import type { SecretBox } from './secret-box';
import { newTotpSecret, totpUri } from './totp';

const SECOND_STEP_MS = 5 * 60 * 1000;

export function authRoutes({ db, box, throttle }: { db: Db; box: SecretBox; throttle: LoginThrottle }): Router {
  const r = Router(ROUTER_OPTIONS);

  const clientAddress = (req: Request) => req.ip ?? 'unknown';

  /** Completes a login: new session id (passport regenerates it), then home or where they were going. */
  function completeLogin(req: Request, res: Response, next: NextFunction, user: LoginRecord) {
    const returnTo = req.session.returnTo;
    req.login(toPrincipal(user), (err) => {
      if (err) return next(err);
      auth.loginCompleted(db, user.id)
        .then(() => {
          req.log.info({ userId: user.id, role: user.role }, 'login');
          const home = homeFor(user.role);
          res.redirect(303, returnTo && returnTo.startsWith(home) ? returnTo : home);
        })
        .catch(next);
    });
  }

  r.get('/login', (req, res) => {
    if (req.user) return res.redirect(homeFor(req.user.role));
    res.page('auth/login', { title: 'Log in' });
  });

  r.post('/login', async (req, res, next) => {
    const form = parseForm(loginSchema, req.body);
    if (!form.ok) {
      res.status(422);
      return res.page('auth/login', { title: 'Log in', errors: form.errors, values: { email: form.values.email } });
    }
    const { email, password } = form.data;
    const values = { email };
    const blocked = await throttle.blocked(email, clientAddress(req));
    if (blocked) {
      res.status(429);
      return res.page('auth/login', { title: 'Log in', errors: { _form: blocked }, values });
    }
    const result = await auth.authenticate(db, email, password);
    if (!result.ok && result.reason === 'invalid') {
      await throttle.failed(email, clientAddress(req));
      req.log.warn({ email }, 'login failed');
      res.status(401);
      return res.page('auth/login', { title: 'Log in', errors: { _form: 'Email or password is incorrect.' }, values });
    }
    if (!result.ok && result.reason === 'choose') {
      await throttle.succeeded(email);
      req.session.pendingChoices = result.choices.map((u) => u.id);
      req.session.pendingSince = Date.now();
      return res.redirect(303, '/login/choose');
    }
    if (!result.ok) {
      res.status(403);
      return res.page('auth/login', { title: 'Log in', errors: { _form: LOGIN_REFUSAL_MESSAGES[result.reason] }, values });
    }
    await throttle.succeeded(email);
    secondStepOrHome(req, res, next, result.user);
  });

  /** After the password (and the choice of login, if any): the TOTP code if the login has one, else in. */
  function secondStepOrHome(req: Request, res: Response, next: NextFunction, user: LoginRecord) {
    if (user.totpEnabled) {
      req.session.pendingUserId = user.id;
      req.session.pendingSince = Date.now();
      return res.redirect(303, '/login/totp');
    }
    completeLogin(req, res, next, user);
  }

  /** The logins the password matched, while the choice is fresh; undefined sends the person back to /login. */
  async function pendingChoices(req: Request): Promise<LoginRecord[] | undefined> {
    const ids = req.session.pendingChoices;
    if (!ids?.length || Date.now() - (req.session.pendingSince ?? 0) > SECOND_STEP_MS) return undefined;
    const found = await Promise.all(ids.map((id) => auth.pendingLogin(db, id)));
    return found.filter((u): u is LoginRecord => u !== undefined);
  }

  // One email, one password, several parties: the person proved the password for each login listed.
  r.get('/login/choose', async (req, res) => {
    const choices = await pendingChoices(req);
    if (!choices) return res.redirect('/login');
    res.page('auth/choose', { title: 'Choose the account', choices });
  });

  r.post('/login/choose', async (req, res, next) => {
    const choices = await pendingChoices(req);
    if (!choices) {
      delete req.session.pendingChoices;
      flash(req, 'error', 'Your login timed out. Enter your email and password again.');
      return res.redirect(303, '/login');
    }
    const chosen = choices.find((u) => String(u.id) === String((req.body as Record<string, unknown>).user_id));
    if (!chosen) {
      res.status(422);
      return res.page('auth/choose', { title: 'Choose the account', choices, errors: { _form: 'Choose one of these accounts.' } });
    }
    delete req.session.pendingChoices;
    const result = auth.admit(chosen);
    if (!result.ok) {
      res.status(403);
      const reason = result.reason as keyof typeof LOGIN_REFUSAL_MESSAGES;
      return res.page('auth/login', { title: 'Log in', errors: { _form: LOGIN_REFUSAL_MESSAGES[reason] }, values: { email: chosen.email } });
    }
    secondStepOrHome(req, res, next, chosen);
  });

  r.get('/login/totp', (req, res) => {
    if (!req.session.pendingUserId) return res.redirect('/login');
    res.page('auth/totp', { title: 'Two-factor login' });
  });

  r.post('/login/totp', async (req, res, next) => {
    const pendingId = req.session.pendingUserId;
    if (!pendingId || Date.now() - (req.session.pendingSince ?? 0) > SECOND_STEP_MS) {
      delete req.session.pendingUserId;
      flash(req, 'error', 'Your login timed out. Enter your email and password again.');
      return res.redirect(303, '/login');
    }
    const user = await auth.pendingLogin(db, pendingId);
    if (!user) return res.redirect(303, '/login');
    const blocked = await throttle.codeBlocked(user.id, clientAddress(req));
    if (blocked) {
      res.status(429);
      return res.page('auth/totp', { title: 'Two-factor login', errors: { code: blocked } });
    }
    const form = parseForm(totpCodeSchema, req.body);
    if (!form.ok || !(await auth.verifySecondFactor(db, box, user, form.data.code))) {
      await throttle.codeFailed(user.id, clientAddress(req));
      res.status(401);
      return res.page('auth/totp', { title: 'Two-factor login', errors: { code: form.ok ? 'That code is not correct.' : (form.errors.code ?? 'Enter the code') } });
    }
    delete req.session.pendingUserId;
    await throttle.codeSucceeded(user.id);
    completeLogin(req, res, next, user);
  });

  r.post('/logout', (req, res, next) => {
    req.logout((err) => {
      if (err) return next(err);
      req.session.destroy(() => {
        res.clearCookie('vb.sid');
        res.redirect(303, '/login');
      });
    });
  });

  r.get('/account', (req, res) => {
    res.page('auth/account', { title: 'My login', staff: isStaff(principal(req).role) });
  });

  r.post('/account/password', async (req, res) => {
    const render = (errors: Record<string, string>, status = 422) => {
      res.status(status);
      res.page('auth/account', { title: 'My login', staff: isStaff(principal(req).role), errors });
    };
    const userId = principal(req).id;
    await submitForm(
      req, res, changePasswordSchema,
      async (data) => {
        const blocked = await throttle.currentPasswordBlocked(userId);
        if (blocked) return render({ current_password: blocked }, 429);
        try {
          await auth.changePassword(db, actor(req), data.current_password, data.new_password, req.sessionID);
        } catch (err) {
          // A wrong current password counts towards the throttle.
          if (err instanceof FieldErrors && err.fields.current_password) await throttle.currentPasswordFailed(userId);
          throw err;
        }
        await throttle.currentPasswordSucceeded(userId);
        flash(req, 'success', 'Your password has been changed.');
        res.redirect(303, '/account');
      },
      (errors) => render(errors),
    );
  });

  async function renderEnrolment(req: Request, res: Response, errors: Record<string, string> = {}) {
    const p = principal(req);
    req.session.pendingTotpSecret ??= newTotpSecret();
    const secret = req.session.pendingTotpSecret;
    const uri = totpUri(secret, p.email);
    const qr = await QRCode.toDataURL(uri, { margin: 1, width: 200 });
    if (Object.keys(errors).length) res.status(422);
    res.page('auth/totp-enrol', { title: 'Two-factor login', secret, qr, errors });
  }

  r.get('/account/totp', async (req, res) => {
    const p = principal(req);
    if (!isStaff(p.role) || p.totpEnabled) return res.redirect('/account');
    await renderEnrolment(req, res);
  });

  r.post('/account/totp', async (req, res) => {
    const secret = req.session.pendingTotpSecret;
    if (!secret) return res.redirect(303, '/account/totp');
    await submitForm(
      req, res, totpCodeSchema,
      async (data) => {
        await auth.enableTotp(db, box, actor(req), secret, data.code);
        delete req.session.pendingTotpSecret;
        flash(req, 'success', 'Two-factor login is on. You will be asked for a code each time you log in.');
        res.redirect(303, '/account');
      },
      (errors) => renderEnrolment(req, res, errors),
    );
  });

  r.post('/account/totp/disable', async (req, res) => {
    const render = (errors: Record<string, string>, status = 422) => {
      res.status(status);
      res.page('auth/account', { title: 'My login', staff: isStaff(principal(req).role), errors });
    };
    const userId = principal(req).id;
    await submitForm(
      req, res, disableTotpSchema,
      async (data) => {
        const blocked = await throttle.currentPasswordBlocked(userId);
        if (blocked) return render({ password: blocked }, 429);
        try {
          await auth.disableTotp(db, actor(req), data.password);
        } catch (err) {
          // A wrong password counts towards the throttle.
          if (err instanceof FieldErrors && err.fields.password) await throttle.currentPasswordFailed(userId);
          throw err;
        }
        await throttle.currentPasswordSucceeded(userId);
        flash(req, 'success', 'Two-factor login is off.');
        res.redirect(303, '/account');
      },
      (errors) => render(errors),
    );
  });

  return r;
}
