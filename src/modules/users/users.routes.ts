import { Router, type Request } from 'express';
import { ROUTER_OPTIONS } from '../../web/router';
import type { Db } from '../../db/knex';
import { assignableRoles, ROLE_LABELS } from '../../domain/tenancy/roles';
import { submitForm } from '../../web/forms';
import { idParam } from '../../web/params';
import { actor, resellerIdOf, scope } from '../../web/principal';
import { askConfirmation, isConfirmed } from '../../web/confirm';
import { flash } from '../../web/render';
import { listView, sendListCsv, type Column } from '../../web/lists';
import { getOrThrow as getReseller } from '../resellers/resellers.service';
import { staffUserSchemas, userListQuery } from './users.schemas';
import * as service from './users.service';

/** The staff logins list's columns: the page's table and its CSV. */
const USER_COLUMNS: Array<Column<service.User>> = [
  { label: 'Email', sort: 'email', text: (u) => u.email },
  { label: 'Name', sort: 'name', text: (u) => u.name },
  { label: 'Role', sort: 'role', text: (u, h) => h.roleLabel(u.role) },
  { label: 'Status', sort: 'status', style: 'status', text: (u) => u.status },
  { label: 'Two-factor', sort: 'totp', text: (u) => (u.totpEnabled ? 'on' : 'off') },
  { label: 'Last login', sort: 'last_login', text: (u, h) => h.dateTime(u.lastLoginAt) || 'never' },
];

function usersList(page: Awaited<ReturnType<typeof service.listUsers>>, filter: Record<string, unknown>, path: string) {
  return listView({
    columns: USER_COLUMNS, ...page, filter, path, noun: ['login', 'logins'],
    totalLines: [`${page.totals.active ?? '0'} active`, `${page.totals.totp ?? '0'} with two-factor`],
  });
}

/** Staff logins: wholesale admins manage the operator's, reseller admins their own reseller's. */
export function userRoutes({ db }: { db: Db }): Router {
  const r = Router(ROUTER_OPTIONS);

  for (const portal of ['wholesale', 'reseller'] as const) {
    const base = `/${portal}/users`;
    const schemas = staffUserSchemas(portal);
    const roleOptions = assignableRoles(portal).map((value) => ({ value, label: ROLE_LABELS[value] }));
    const tenant = (req: Request) => (portal === 'wholesale' ? null : resellerIdOf(req));

    r.get(base, async (req, res) => {
      const filter = userListQuery.parse(req.query);
      const page = await service.listUsers(db, scope(req), { kind: portal, ...filter, resellerId: tenant(req) ?? undefined });
      res.page('users/list', { title: 'Users', list: usersList(page, filter, base), filter, base, heading: portal === 'wholesale' ? 'Wholesale users' : 'Users' });
    });

    r.get(`${base}.csv`, async (req, res) => {
      const filter = userListQuery.parse(req.query);
      await sendListCsv(req, res, 'users', USER_COLUMNS, service.allUsers(db, scope(req), { kind: portal, ...filter, resellerId: tenant(req) ?? undefined }));
    });

    r.get(`${base}/new`, (_req, res) => {
      res.page('users/new', { title: 'New user', base, roleOptions, values: { role: roleOptions[0]?.value } });
    });

    r.post(base, async (req, res) => {
      await submitForm(
        req, res, schemas.create,
        async (data) => {
          const user = await service.createStaffUser(db, actor(req), portal, tenant(req), data);
          flash(req, 'success', `Login ${user.email} created.`);
          res.redirect(303, base);
        },
        (errors) => res.page('users/new', { title: 'New user', base, roleOptions, errors, values: { ...req.body, password: '' } }),
      );
    });

    r.get(`${base}/:userId/edit`, async (req, res) => {
      const u = await service.getStaffUser(db, scope(req), portal, idParam(req, 'userId'));
      res.page('users/edit', { title: `Edit ${u.email}`, base, roleOptions, editUser: u, values: { name: u.name, email: u.email, role: u.role, status: u.status } });
    });

    r.post(`${base}/:userId`, async (req, res) => {
      const id = idParam(req, 'userId');
      const u = await service.getStaffUser(db, scope(req), portal, id);
      await submitForm(
        req, res, schemas.update,
        async (data) => {
          // Disabling someone else's login asks first (one's own is refused by the service).
          if (u.status === 'active' && data.status === 'disabled' && u.id !== actor(req).userId && !isConfirmed(req)) {
            const { password, ...fields } = req.body as Record<string, string>;
            return askConfirmation(req, res, {
              title: `Disable ${u.email}?`,
              consequences: [
                `${u.name} (${u.email}) can no longer log in; an open session ends on its next click.`,
                'Nothing they changed is undone, and the audit log keeps their name. Setting the status back to active restores the login.',
              ],
              confirmLabel: `Disable ${u.email}`,
              cancelHref: `${base}/${u.id}/edit`,
              fields,
              note: password ? 'The new password typed on the form is not carried over: set it again after this if it is still wanted.' : undefined,
            });
          }
          await service.updateStaffUser(db, actor(req), scope(req), portal, id, data);
          flash(req, 'success', 'User saved.');
          res.redirect(303, base);
        },
        (errors) => res.page('users/edit', { title: `Edit ${u.email}`, base, roleOptions, editUser: u, errors, values: { ...req.body, password: '' } }),
      );
    });
  }

  // The operator's view of one reseller's staff logins.
  r.get('/wholesale/resellers/:resellerId/users', async (req, res) => {
    const reseller = await getReseller(db, scope(req), idParam(req, 'resellerId'));
    const filter = userListQuery.parse(req.query);
    const page = await service.listUsers(db, scope(req), { kind: 'reseller', resellerId: reseller.id, ...filter });
    const list = usersList(page, filter, `/wholesale/resellers/${reseller.id}/users`);
    res.page('users/list', { title: `${reseller.name}: users`, list, filter, base: null, reseller, heading: `${reseller.name}: staff logins` });
  });

  r.get('/wholesale/resellers/:resellerId/users.csv', async (req, res) => {
    const reseller = await getReseller(db, scope(req), idParam(req, 'resellerId'));
    const filter = userListQuery.parse(req.query);
    await sendListCsv(req, res, 'users', USER_COLUMNS, service.allUsers(db, scope(req), { kind: 'reseller', resellerId: reseller.id, ...filter }));
  });

  return r;
}
