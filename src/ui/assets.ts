/** The /ui stylesheet and icon: served by shipslog (the CSP allows styles and images from this origin only). */

export const icon = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#1d4ed8"/><path d="M7 20h18l-3 5H10z" fill="#fff"/><path d="M15 6v12h-6z" fill="#bfdbfe"/><path d="M17 9v9h6z" fill="#fff"/></svg>`;

export const style = `
:root {
  --fg: #1f2937; --muted: #6b7280; --line: #e5e7eb; --bg: #f8fafc; --card: #fff; --accent: #1d4ed8;
  --green: #15803d; --green-bg: #dcfce7; --red: #b91c1c; --red-bg: #fee2e2; --amber: #a16207; --amber-bg: #fef3c7;
  --blue: #1d4ed8; --blue-bg: #dbeafe; --gray: #4b5563; --gray-bg: #f3f4f6; --violet: #6d28d9; --violet-bg: #ede9fe;
}
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre, .mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 13px; }
header.top { display: flex; align-items: center; gap: 24px; padding: 10px 24px; background: #0f172a; color: #e2e8f0; }
header.top a { color: #e2e8f0; }
header.top .brand { display: flex; align-items: center; gap: 8px; font-weight: 700; font-size: 17px; }
header.top nav { display: flex; gap: 18px; }
header.top .session { margin-left: auto; display: flex; align-items: center; gap: 12px; font-size: 14px; color: #cbd5e1; }
header.top .session form { margin: 0; }
button.link { background: none; border: 1px solid #475569; color: #e2e8f0; border-radius: 6px; padding: 3px 10px; font: inherit; cursor: pointer; }
button.link:hover { background: #1e293b; }
main { max-width: 1180px; margin: 0 auto; padding: 20px 24px 48px; }
h1 { font-size: 24px; margin: 6px 0 14px; }
h2 { font-size: 18px; margin: 28px 0 10px; }
.crumbs { font-size: 14px; color: var(--muted); }
.crumbs .sep { margin: 0 6px; }
.sub, .exact, .muted { color: var(--muted); font-size: 13px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; }
table.list { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); border-radius: 10px; overflow: hidden; }
table.list th, table.list td { text-align: left; padding: 10px 12px; border-bottom: 1px solid var(--line); vertical-align: top; }
table.list th { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); background: #f1f5f9; }
table.list tr:last-child td { border-bottom: 0; }
table.list td.name a { font-weight: 600; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px; font-weight: 600; background: var(--gray-bg); color: var(--gray); white-space: nowrap; }
.status-applied, .health-Healthy { background: var(--green-bg); color: var(--green); }
.status-failed, .health-Degraded, .health-Missing { background: var(--red-bg); color: var(--red); }
.status-reconciling, .health-Progressing { background: var(--blue-bg); color: var(--blue); }
.status-removing { background: var(--amber-bg); color: var(--amber); }
form.filters { display: flex; flex-wrap: wrap; align-items: end; gap: 12px; padding: 12px 14px; margin: 0 0 16px; background: var(--card); border: 1px solid var(--line); border-radius: 10px; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 3px; }
input, select { font: inherit; font-size: 14px; padding: 5px 8px; border: 1px solid #cbd5e1; border-radius: 6px; background: #fff; color: var(--fg); }
button.primary { font: inherit; font-size: 14px; padding: 6px 14px; border-radius: 6px; border: 0; background: var(--accent); color: #fff; cursor: pointer; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 12px 24px; padding: 14px 16px; margin: 0; }
.facts div { min-width: 0; }
.facts dt { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.facts dd { margin: 2px 0 0; overflow-wrap: anywhere; }
.title-line { display: flex; align-items: baseline; gap: 12px; flex-wrap: wrap; }
.title-line .tenant { color: var(--muted); font-weight: 400; }
ol.timeline { list-style: none; margin: 0; padding: 0 0 0 22px; border-left: 2px solid var(--line); }
ol.timeline > li { position: relative; margin: 0 0 14px; padding: 12px 16px; background: var(--card); border: 1px solid var(--line); border-radius: 10px; }
ol.timeline > li::before { content: ""; position: absolute; left: -31px; top: 18px; width: 12px; height: 12px; border-radius: 50%; background: var(--gray); border: 2px solid var(--bg); }
.event-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: 10px; }
.action { font-weight: 700; padding: 1px 8px; border-radius: 6px; background: var(--gray-bg); color: var(--gray); font-size: 13px; }
li.act-created::before { background: var(--green); } .act-created .action { background: var(--green-bg); color: var(--green); }
li.act-removed::before, li.act-removal_requested::before { background: var(--red); }
.act-removed .action, .act-removal_requested .action { background: var(--red-bg); color: var(--red); }
li.act-upgraded::before, li.act-downgraded::before, li.act-rolled_back::before { background: var(--violet); }
.act-upgraded .action, .act-downgraded .action, .act-rolled_back .action { background: var(--violet-bg); color: var(--violet); }
li.act-config_changed::before, li.act-secrets_rotated::before, li.act-restarted::before { background: var(--blue); }
.act-config_changed .action, .act-secrets_rotated .action, .act-restarted .action { background: var(--blue-bg); color: var(--blue); }
.event-head .who { margin-left: auto; font-size: 14px; }
.why { margin: 6px 0 0; }
.why q { font-style: italic; }
.why.none { color: var(--muted); font-size: 13px; }
ul.changes { margin: 6px 0 0; padding-left: 20px; }
ul.changes li { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 13px; overflow-wrap: anywhere; }
.run { margin-top: 8px; font-size: 14px; padding: 6px 10px; border-radius: 6px; background: var(--gray-bg); }
.run.ok { background: var(--green-bg); } .run.failed { background: var(--red-bg); }
.meta { margin-top: 8px; font-size: 12px; color: var(--muted); display: flex; flex-wrap: wrap; gap: 4px 14px; }
.meta code { font-size: 12px; }
.pager { margin-top: 14px; }
.empty { padding: 24px; text-align: center; color: var(--muted); background: var(--card); border: 1px dashed var(--line); border-radius: 10px; }
pre.json { background: #0f172a; color: #e2e8f0; padding: 14px 16px; border-radius: 10px; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
section.login { max-width: 460px; margin: 60px auto; padding: 24px 28px; }
section.login label { display: block; font-size: 14px; margin: 14px 0 4px; }
section.login input { width: 100%; }
section.login .problem { color: var(--red); background: var(--red-bg); padding: 8px 12px; border-radius: 6px; }
section.error { max-width: 640px; margin: 40px auto; }
section.error .status { color: var(--muted); font-size: 13px; }
`;
