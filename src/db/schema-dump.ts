import type { Queryable } from './client.ts';

/*
 * A normalised description of schema shipslog, read from the catalogs: one line per table,
 * column, constraint, index, sequence, function, trigger, view, policy, grant and comment,
 * sorted, so that a schema change shows as a readable diff of schema.sql in review
 * (test/schema/schema-dump.test.ts). pg_dump would do, but the embedded PostgreSQL ships
 * none, and a pg_dump only dumps servers of its own major version or older.
 * Left out, because they differ between two correct databases: owners and grantors (whoever
 * ran the migrations), and monthly partitions (named after the month they were created in).
 */

const monthlyPartition = String.raw`_y\d{4}m\d{2}$`;

export async function dumpSchema(db: Queryable, schema = 'shipslog'): Promise<string> {
  const sections = await Promise.all([
    relations(db, schema),
    columns(db, schema),
    constraints(db, schema),
    indexes(db, schema),
    functions(db, schema),
    triggers(db, schema),
    views(db, schema),
    policies(db, schema),
    grants(db, schema),
    comments(db, schema),
  ]);
  return `${sections.flat().join('\n')}\n`;
}

type Lines = Promise<string[]>;

async function lines(query: Promise<{ line: string }[]>): Lines {
  return (await query).map((r) => r.line);
}

function relations(db: Queryable, schema: string): Lines {
  return lines(db`
    select format('%s %I%s%s%s%s',
      case c.relkind when 'r' then 'table' when 'p' then 'table' when 'v' then 'view' when 'S' then 'sequence' end,
      c.relname,
      case when c.relkind = 'p' then ' partition by ' || pg_get_partkeydef(c.oid) else '' end,
      case when c.relispartition then format(' partition of %I %s', p.relname, pg_get_expr(c.relpartbound, c.oid)) else '' end,
      case when c.relrowsecurity then ' row level security' else '' end,
      case when c.relforcerowsecurity then ' forced' else '' end) as line
    from pg_class as c
      join pg_namespace as n on n.oid = c.relnamespace
      left join pg_inherits as i on i.inhrelid = c.oid
      left join pg_class as p on p.oid = i.inhparent
    where n.nspname = ${schema}
      and c.relkind in ('r', 'p', 'v', 'S')
      and c.relname !~ ${monthlyPartition}
    order by c.relname
  `);
}

function columns(db: Queryable, schema: string): Lines {
  return lines(db`
    select format('column %I.%I %s%s%s%s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
      case when a.attnotnull then ' not null' else '' end,
      -- A partition's identity is its parent's: PostgreSQL 17+ shows it on the partition too, 15 not.
      case when a.attidentity <> '' and not c.relispartition then ' identity ' || a.attidentity::text else '' end,
      coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')) as line
    from pg_attribute as a
      join pg_class as c on c.oid = a.attrelid
      join pg_namespace as n on n.oid = c.relnamespace
      left join pg_attrdef as d on d.adrelid = a.attrelid and d.adnum = a.attnum
    where n.nspname = ${schema}
      and c.relkind in ('r', 'p', 'v')
      and c.relname !~ ${monthlyPartition}
      and a.attnum > 0
      and not a.attisdropped
    order by c.relname, a.attnum
  `);
}

function constraints(db: Queryable, schema: string): Lines {
  // contype 'n' (NOT NULL, PostgreSQL 18) is in the column lines already.
  return lines(db`
    select format('constraint %I.%I %s', c.relname, k.conname, pg_get_constraintdef(k.oid)) as line
    from pg_constraint as k
      join pg_class as c on c.oid = k.conrelid
      join pg_namespace as n on n.oid = c.relnamespace
    where n.nspname = ${schema}
      and k.contype in ('c', 'f', 'p', 'u', 'x')
      and c.relname !~ ${monthlyPartition}
    order by c.relname, k.conname
  `);
}

function indexes(db: Queryable, schema: string): Lines {
  return lines(db`
    select format('index %s', pg_get_indexdef(i.indexrelid)) as line
    from pg_index as i
      join pg_class as t on t.oid = i.indrelid
      join pg_class as x on x.oid = i.indexrelid
      join pg_namespace as n on n.oid = t.relnamespace
    where n.nspname = ${schema}
      and t.relname !~ ${monthlyPartition}
    order by x.relname
  `);
}

function functions(db: Queryable, schema: string): Lines {
  // Aggregates have no pg_get_functiondef; their transition function says what they do.
  return lines(db`
    select case
      when p.prokind = 'a' then format('aggregate %s(%s) sfunc %s stype %s initcond %s', p.oid::regproc,
        pg_get_function_identity_arguments(p.oid), g.aggtransfn::regproc, format_type(g.aggtranstype, null), g.agginitval)
      else format('function %s(%s)', p.oid::regproc, pg_get_function_identity_arguments(p.oid))
        || case when o.rolname not in (select nspowner::regrole::text from pg_namespace where nspname = ${schema})
             then ' owner ' || o.rolname else '' end
        || E'\n' || rtrim(pg_get_functiondef(p.oid), E'\n')
      end as line
    from pg_proc as p
      join pg_namespace as n on n.oid = p.pronamespace
      join pg_roles as o on o.oid = p.proowner
      left join pg_aggregate as g on g.aggfnoid = p.oid
    where n.nspname = ${schema}
    order by p.proname, pg_get_function_identity_arguments(p.oid)
  `);
}

function triggers(db: Queryable, schema: string): Lines {
  return lines(db`
    select format('trigger %s%s', pg_get_triggerdef(t.oid), case t.tgenabled when 'D' then ' (disabled)' else '' end) as line
    from pg_trigger as t
      join pg_class as c on c.oid = t.tgrelid
      join pg_namespace as n on n.oid = c.relnamespace
    where n.nspname = ${schema}
      and not t.tgisinternal
      and c.relname !~ ${monthlyPartition}
    order by c.relname, t.tgname
  `);
}

function views(db: Queryable, schema: string): Lines {
  return lines(db`
    select format(E'view %I as\n%s', c.relname, rtrim(pg_get_viewdef(c.oid, true), E'\n')) as line
    from pg_class as c
      join pg_namespace as n on n.oid = c.relnamespace
    where n.nspname = ${schema}
      and c.relkind = 'v'
    order by c.relname
  `);
}

function policies(db: Queryable, schema: string): Lines {
  return lines(db`
    select format('policy %I on %I %s for %s to %s%s%s', p.policyname, p.tablename, lower(p.permissive), lower(p.cmd),
      array_to_string(p.roles, ', '), coalesce(' using (' || p.qual || ')', ''), coalesce(' with check (' || p.with_check || ')', '')) as line
    from pg_policies as p
    where p.schemaname = ${schema}
    order by p.tablename, p.policyname
  `);
}

function grants(db: Queryable, schema: string): Lines {
  // Privileges an owner holds on its own objects are implicit; grantors are whoever migrated.
  return lines(db`
    with objects as (
      select 'schema' as kind, n.nspname::text as object, n.nspacl as acl, n.nspowner as owner
      from pg_namespace as n
      where n.nspname = ${schema}
      union all
      select case c.relkind when 'S' then 'sequence' when 'v' then 'view' else 'table' end, c.relname::text, c.relacl, c.relowner
      from pg_class as c
        join pg_namespace as n on n.oid = c.relnamespace
      where n.nspname = ${schema}
        and c.relkind in ('r', 'p', 'v', 'S')
        and c.relname !~ ${monthlyPartition}
      union all
      select 'column', format('%s.%s', c.relname, a.attname), a.attacl, c.relowner
      from pg_attribute as a
        join pg_class as c on c.oid = a.attrelid
        join pg_namespace as n on n.oid = c.relnamespace
      where n.nspname = ${schema}
        and a.attacl is not null
        and c.relname !~ ${monthlyPartition}
      union all
      select 'function', format('%s(%s)', p.proname, pg_get_function_identity_arguments(p.oid)), p.proacl, p.proowner
      from pg_proc as p
        join pg_namespace as n on n.oid = p.pronamespace
      where n.nspname = ${schema}
    )
    select format('grant %s on %s %s to %s', string_agg(x.privilege_type, ', ' order by x.privilege_type), o.kind, o.object,
      case when x.grantee = 0 then 'public' else pg_get_userbyid(x.grantee) end) as line
    from objects as o
      cross join lateral aclexplode(coalesce(o.acl, acldefault(case o.kind when 'schema' then 'n'::"char" when 'function' then 'f'
        when 'sequence' then 's' when 'column' then 'c' else 'r' end, o.owner))) as x
    where x.grantee <> o.owner
    group by o.kind, o.object, x.grantee
    order by 1
  `);
}

function comments(db: Queryable, schema: string): Lines {
  return lines(db`
    select format('comment on %s %s is %L', case c.relkind when 'v' then 'view' else 'table' end, c.relname, d.description) as line
    from pg_description as d
      join pg_class as c on c.oid = d.objoid and d.classoid = 'pg_class'::regclass and d.objsubid = 0
      join pg_namespace as n on n.oid = c.relnamespace
    where n.nspname = ${schema}
    union all
    select format('comment on column %s.%s is %L', c.relname, a.attname, d.description)
    from pg_description as d
      join pg_class as c on c.oid = d.objoid and d.classoid = 'pg_class'::regclass and d.objsubid > 0
      join pg_attribute as a on a.attrelid = c.oid and a.attnum = d.objsubid
      join pg_namespace as n on n.oid = c.relnamespace
    where n.nspname = ${schema}
    union all
    select format('comment on function %s is %L', p.oid::regprocedure, d.description)
    from pg_description as d
      join pg_proc as p on p.oid = d.objoid and d.classoid = 'pg_proc'::regclass
      join pg_namespace as n on n.oid = p.pronamespace
    where n.nspname = ${schema}
    order by 1
  `);
}
