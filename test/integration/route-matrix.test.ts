// Part 1 of the route matrix (route-matrix.cases.ts): the routes are dealt round several files so
// that they run side by side, each on its own database.
import { routeMatrix } from './route-matrix.cases';

routeMatrix(1);
