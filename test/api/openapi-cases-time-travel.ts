import { missing, newDeployment, type Cases } from './openapi-fixtures.ts';

// Cases of openapi-cases.ts for time travel (src/api/time-travel.ts).

export const timeTravelCases: Cases = {
  'GET /v1/deployments/{id}/state': async (x) => {
    const { id } = await newDeployment(x, 'state-me');
    await x.api.call(x.keys.acme, 'PATCH', `/v1/deployments/${id}`, { config: { storage: '16Gi' } });
    const path = `/v1/deployments/${id}/state`;
    return [
      await x.api.call(x.keys.reader, 'GET', path),
      await x.api.call(x.keys.reader, 'GET', `${path}?at=9999-12-31T00:00:00Z`),
      await x.api.call(x.keys.acme, 'DELETE', `/v1/deployments/${id}`).then(() => x.api.call(x.keys.reader, 'GET', path)),
      await x.api.call(x.keys.reader, 'GET', `${path}?at=2001-01-01T00:00:00Z`), // before creation: 404
      await x.api.call(x.keys.reader, 'GET', `${path}?at=yesterday`),
      await x.api.call(x.keys.deployer, 'GET', path),
      await x.api.call(x.keys.reader, 'GET', `/v1/deployments/${missing}/state`),
    ];
  },

  'GET /v1/deployments/{id}/diff': async (x) => {
    const { id } = await newDeployment(x, 'diff-me');
    await x.api.call(x.keys.acme, 'PATCH', `/v1/deployments/${id}`, { config: { storage: '16Gi' } });
    const path = `/v1/deployments/${id}/diff`;
    return [
      await x.api.call(x.keys.reader, 'GET', `${path}?from=1&to=2`),
      await x.api.call(x.keys.reader, 'GET', `${path}?from=2&to=1`),
      await x.api.call(x.keys.reader, 'GET', `${path}?from=1&to=3`),
      await x.api.call(x.keys.reader, 'GET', `${path}?to=1`),
      await x.api.call(x.keys.deployer, 'GET', `${path}?from=1`),
      await x.api.call(x.keys.reader, 'GET', `/v1/deployments/${missing}/diff?from=1`),
    ];
  },
};
