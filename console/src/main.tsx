import { render } from 'preact';
import { LocationProvider, Route, Router, useLocation } from 'preact-iso/router';
import { setApiUrl } from './api.js';
import { accessOf, completeSignIn, currentSession, initAuth, signIn, signOut, type ConsoleConfig, type Session } from './auth.js';
import { AppPage } from './pages/app.js';
import { AppsPage } from './pages/apps.js';
import { AuditPage } from './pages/audit.js';
import { IssuersPage } from './pages/issuers.js';
import { JobsPage } from './pages/jobs.js';
import { OrgUsersPage } from './pages/org-users.js';
import { ResourceServersPage } from './pages/resource-servers.js';
import { TokensPage } from './pages/tokens.js';
import { UsersPage } from './pages/users.js';
import { isSupportedEdition } from '../../shared/editions.js';
import { EditionNotice } from './ui.js';
import './styles.css';

function Layout({ session }: { session: Session }) {
  const { path } = useLocation();
  const access = accessOf(session);
  const nav = [['/', 'OAuth Usage'], ['/users', 'Users'], ['/jobs', 'Revocation jobs'], ['/resource-servers', 'Resource servers'], ['/issuers', 'Trusted issuers'], ['/audit', 'Audit log']] as const;
  const current = (href: string) => (href === '/' ? path === '/' || path.startsWith('/apps') : path.startsWith(href));
  return (
    <>
      <header>
        <nav aria-label="Main">
          <ul>
            {nav.map(([href, label]) => <li key={href}><a href={href} aria-current={current(href) ? 'page' : undefined}>{label}</a></li>)}
          </ul>
        </nav>
        <div class="who">
          <span>{session.sub} · {session.orgId}</span>
          <button type="button" class="secondary" onClick={signOut}>Sign out</button>
        </div>
      </header>
      <main>
        {!isSupportedEdition(session.edition) ? <EditionNotice /> : (
          <>
            {!access.manage && <p class="notice readonly">Read-only: you can see usage, but editing apps and revoking tokens needs the <code>apps:manage</code> permission.</p>}
            <Router>
              <Route path="/" component={AppsPage} />
              <Route path="/apps/:appId" component={AppPage} access={access} />
              <Route path="/apps/:appId/users" component={UsersPage} access={access} />
              <Route path="/apps/:appId/users/:userId/tokens" component={TokensPage} access={access} />
              <Route path="/users" component={OrgUsersPage} access={access} />
              <Route path="/jobs" component={JobsPage} access={access} />
              <Route path="/resource-servers" component={ResourceServersPage} access={access} />
              <Route path="/issuers" component={IssuersPage} access={access} />
              <Route path="/audit" component={AuditPage} />
              <Route default component={NotFound} />
            </Router>
          </>
        )}
      </main>
    </>
  );
}

function NotFound() {
  return <section><h1>Page not found</h1><p><a href="/">Go to OAuth Usage</a></p></section>;
}

async function start(root: HTMLElement) {
  try {
    const config = (await (await fetch('/config.json')).json()) as ConsoleConfig;
    setApiUrl(config.apiUrl);
    await initAuth(config);
    if (location.pathname === '/callback') history.replaceState(null, '', await completeSignIn());
    const session = currentSession();
    if (!session) return await signIn(location.pathname + location.search);
    root.replaceChildren();
    render(<LocationProvider><Layout session={session} /></LocationProvider>, root);
  } catch (error) {
    root.replaceChildren();
    render(
      <main>
        <div class="notice error" role="alert">
          <h1>The console could not start</h1>
          <p>{error instanceof Error ? error.message : String(error)}</p>
          <button type="button" onClick={() => location.assign('/')}>Retry</button>
        </div>
      </main>,
      root,
    );
  }
}

void start(document.getElementById('app') as HTMLElement);
