"""The emulator's service layer: the rules of an org, with no HTTP in them.

Handlers in :mod:`kinetic_core.emulator.routes` parse a request, call one operation here and render
its :class:`~kinetic_core.emulator.service.calls.Reply`. The same operations answer ``/composite`` and
``/composite/batch`` sub-requests, through the URL table (:mod:`kinetic_core.emulator.urls`). This
package imports nothing of Starlette or any other HTTP library (a test checks it):

* :mod:`.calls`: :class:`Call` (one operation's input) and :class:`Reply` (its answer);
* :mod:`.records`: sObject rows, external ids, describe, limits (the REST basics);
* :mod:`.queries`: SOQL pages and SOSL searches;
* :mod:`.transactions`: allOrNone, the one place a rollback is decided;
* :mod:`.collections`, :mod:`.tree`, :mod:`.composite`: sObject Collections, sObject Tree, Composite;
* :mod:`.related`: sObject relationship URLs;
* :mod:`.oauth`: OAuth grants, authorization codes and revocation;
* :mod:`.jobs`: Bulk API 2.0 job lifecycles that span several engine calls.
"""
