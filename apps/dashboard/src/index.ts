export { buildDashboard, dashboardIsBuilt, ensureDashboardBuilt, DASHBOARD_DIST, DASHBOARD_WEB } from "./build.ts";
