// The OIP v2 health routes (server.ts), for probes outside the server: docker-compose.yml's
// health check and load balancers.

/** 200 while the process serves HTTP at all. */
export const HEALTH_LIVE_PATH = '/v2/health/live';
/** 200 once a release is loaded and until shutdown starts, 503 otherwise. */
export const HEALTH_READY_PATH = '/v2/health/ready';
