// Package dashboard is the HTTP server of the release dashboard: a page in the browser that lists the
// releases, follows them live, draws each over time with its pods, and moves them on, served by the
// user's own process with the user's own credentials (the clientsets it is given), on a loopback address
// only.
//
// A page on the user's machine is reachable by every other page the browser opens, so the server trusts
// no request by where it comes from:
//   - every request carries the server's random token, in ?token= (GET and HEAD: the URL printed for the
//     user, and the page's own assets) or in the header X-Triton-Token (the page's script, on API calls);
//   - the Host header must name the loopback address and port the server listens on, so that a page of a
//     foreign site whose name was made to resolve to 127.0.0.1 (DNS rebinding) is refused;
//   - a call that changes something (POST) must come from the page itself: an Origin of the server's own
//     address and a JSON body, which a cross-site form cannot send;
//   - the answers forbid framing, inline scripts and styles, sniffing, referrers and caching.
//
// The page (static/) is plain HTML, CSS and a script, embedded in the binary, that fetches nothing from
// elsewhere.
//
// The JSON API, for the page (every answer is an object; strings are data, never markup):
//
//	GET  /api/releases                         {"items": [Summary...], "truncated": bool}
//	GET  /api/releases/{namespace}/{name}      the Release, as the API server has it
//	GET  /api/releases/{namespace}/{name}/view {"release": Release, "timeline": Timeline, "pods": PodMap}:
//	                                           the release drawn over time and the pods of its CloneSet
//	                                           (read with the user's credentials; "error" says why not)
//	GET  /api/events                           text/event-stream: "event: release" with data
//	                                           {"type": "ADDED"|"MODIFIED"|"DELETED", "release": Summary};
//	                                           first an ADDED for every release, then the changes;
//	                                           a ": ping" comment every 15 s
//	POST /api/releases/{namespace}/{name}/{verb}
//	     verb: next, pause, resume, cancel, promote (next to the last batch)
//	     body: {"expectedBatch": N, "expectedPhase": "Smoked", "reason": "..."}
//	     (expectedBatch is required for next and promote)
//	     200: the Release as the server answered it
//
// An error is {"message": "..."}: one line, with control characters and terminal escapes made visible
// (view.Printable), and the API server's status code (404, 403, 409, 422, ...) when it came from there.
package dashboard
