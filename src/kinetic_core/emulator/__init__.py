"""A local Salesforce org: a real HTTP(S) server on SQLite speaking the Salesforce protocol."""
