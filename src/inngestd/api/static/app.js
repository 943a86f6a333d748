// Entry point: the route table.
import { route, start } from "./router.js";
import { appsPage } from "./page-apps.js";
import { functionsPage, functionPage } from "./page-functions.js";
import { eventsPage } from "./page-events.js";
import { runsPage } from "./page-runs.js";
import { runPage } from "./page-run.js";

route("/", runsPage);
route("/apps", appsPage);
route("/functions", functionsPage);
route("/functions/:slug*", functionPage);
route("/events", eventsPage);
route("/events/:id", eventsPage);
route("/runs", runsPage);
route("/runs/:id", runPage);

start();
