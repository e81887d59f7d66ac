/**
 * Microsoft's OpenTelemetry distro for Azure Monitor, in a module of their own: startTelemetry.ts loads it
 * only when Application Insights is configured, and the deploy package bundles it apart
 * (dist/azure-monitor.js): it is most of the telemetry code, and a cold start without it stays fast.
 */
export { shutdownAzureMonitor, useAzureMonitor } from '@azure/monitor-opentelemetry';
export { ManagedIdentityCredential } from '@azure/identity';
