#!/usr/bin/python3
"""A MongoDB emulator at the wire level, for tests. It is NOT MongoDB.

No MongoDB server can be installed on the build machines, so the tests of the
MongoDB store backend talk to this small server instead. It is assembled from
two Debian packages:

  python3-mockupdb   speaks the wire protocol (OP_MSG, and OP_QUERY for the
                     first handshake) and hands each decoded command to us;
  python3-mongomock  keeps the data in memory and evaluates filters, sorts,
                     projections, updates and aggregation pipelines.

This file maps MongoDB commands onto mongomock and shapes the replies the way
a standalone mongod 5.0 (wire version 13) shapes them, which is what libmongoc
1.23 expects. Handled commands: hello / isMaster, ping, buildInfo,
endSessions, insert, find, getMore, killCursors, update, delete, aggregate,
count, distinct, createIndexes, listIndexes, listCollections, listDatabases,
create, drop and dropDatabase. Any other command gets a proper error reply
(code 59, CommandNotFound); a failing command gets {ok: 0, errmsg, code},
never a crash of the server.

Known differences from a real server (keep test data small and simple):
  - mongomock has no indexes and scans the whole collection for every query.
    This file adds hash tables: unique indexes are enforced through them, a
    filter with a top-level equality on _id or on the first field of an index
    only looks at the matching documents, and $in over scalars is a set
    lookup. Range queries alone, sorts and everything else still scan;
  - the natural order of a filtered query on an indexed field is the order
    in which documents were first stored with that value, not the disk order;
  - unique indexes on array fields are not multikey: the whole array is the
    key;
  - no transactions, no replication, no authentication, no TLS, no
    compression, no change streams, no collations;
  - cursors never time out and are shared by all connections;
  - a request that cannot be decoded (e.g. a string that is not UTF-8) gets
    an error reply (code 22, InvalidBSON); a real server may accept more;
  - unknown opcodes close the connection.

Usage:
  /usr/bin/python3 mongo_emulator.py --port N [--host 127.0.0.1] [--verbose]

--port 0 picks a free port. Once listening, the emulator prints
"ready <port>" on stdout (and nothing else there); it stops on SIGTERM or
SIGINT. Run it with Debian's /usr/bin/python3, which can import the two
packages.
"""

import argparse
import collections
import datetime
import errno
import itertools
import os
import signal
import struct
import sys
import traceback
import types

import bson
from bson.int64 import Int64
import mockupdb
from mockupdb import Command, MockupDB, OpMsg, OpQuery
import mongomock
from mongomock import aggregate as mm_aggregate
from mongomock import collection as mm_collection
from mongomock import filtering as mm_filtering
from mongomock import helpers as mm_helpers

MAX_WIRE_VERSION = 13  # MongoDB 5.0; libmongoc 1.23 speaks 6..17
MAX_BSON_SIZE = 16 * 1024 * 1024
MAX_MESSAGE_SIZE = 48000000
MAX_WRITE_BATCH = 100000
DEFAULT_FIRST_BATCH = 101
# Room kept in a reply for the cursor envelope around the documents.
REPLY_OVERHEAD = 16 * 1024

CODE_NAMES = {
    1: 'InternalError',
    2: 'BadValue',
    9: 'FailedToParse',
    22: 'InvalidBSON',
    26: 'NamespaceNotFound',
    43: 'CursorNotFound',
    48: 'NamespaceExists',
    59: 'CommandNotFound',
    85: 'IndexOptionsConflict',
    86: 'IndexKeySpecsConflict',
    115: 'CommandNotSupported',
    11000: 'DuplicateKey',
}


class CommandError(Exception):
    """A command failure to report as {ok: 0, errmsg, code}."""

    def __init__(self, code, errmsg):
        super().__init__(errmsg)
        self.code = code
        self.errmsg = errmsg


# --- mongomock speed-ups ------------------------------------------------------
#
# mongomock enforces a unique index by scanning the whole collection after
# each insert (a few hundred documents per second). The replacement below
# keeps, per unique index, a hash table from the key to the _id of the
# document holding it. Entries are never removed: an entry is trusted only
# after checking that its document still exists and still has that key, so
# deletes, updates, rollbacks and drops need no bookkeeping.

_unique_tables = {}  # (id(collection store), index name) -> (index dict, {key: _id})
_original_ensure_uniques = mm_collection.Collection._ensure_uniques


def _hashable(value):
    """A hashable stand-in for a BSON value that keeps BSON's equality."""
    if isinstance(value, bool):
        return ('bool', value)
    if isinstance(value, dict):
        return ('doc', tuple((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return ('array', tuple(_hashable(v) for v in value))
    if isinstance(value, datetime.datetime):
        return ('date', value.replace(tzinfo=None))
    return value


def _store_key(doc):
    """The key under which mongomock's collection store holds doc."""
    doc_id = doc['_id']
    return mm_helpers.hashdict(doc_id) if isinstance(doc_id, dict) else doc_id


def _index_key(doc, fields):
    key = []
    for field in fields:
        try:
            key.append(_hashable(mm_helpers.get_value_by_dot(doc, field)))
        except KeyError:
            key.append(None)
    return tuple(key)


def _unique_table(store, name, index, checking):
    """The hash table of a unique index, (re)built from the documents when
    missing or when the index was (re)created; checking, the key of the
    document being checked (already stored), is left out of a new table."""
    entry = _unique_tables.get((id(store), name))
    if entry is not None and entry[0] is index:
        return entry[1]
    fields = [field for field, _ in index['key']]
    table = {}
    for doc in store.documents:
        key = _store_key(doc)
        if key != checking:
            table[_index_key(doc, fields)] = key
    _unique_tables[(id(store), name)] = (index, table)
    return table


def _fast_ensure_uniques(self, new_data):
    """Raises DuplicateKeyError when new_data (already stored) breaks a unique index.

    mongomock calls this for every document inserted or changed, which makes
    it the place to keep the equality tables up to date as well."""
    store = self._store
    _eq_register(store, new_data)
    for name, index in list(store.indexes.items()):
        if not index.get('unique'):
            continue
        if index.get('sparse') or index.get('partialFilterExpression') is not None:
            # Rare here: keep mongomock's scan for these.
            _original_ensure_uniques_one(self, new_data, index)
            continue
        fields = [field for field, _ in index['key']]
        new_id = _store_key(new_data)
        table = _unique_table(store, name, index, new_id)
        key = _index_key(new_data, fields)
        holder = table.get(key)
        if holder is not None and holder != new_id and holder in store:
            if _index_key(store[holder], fields) == key:
                raise mongomock.DuplicateKeyError(
                    'E11000 duplicate key error collection: %s.%s index: %s dup key: %s'
                    % (self.database.name, self.name, name, _describe_key(fields, key)),
                    11000)
        table[key] = new_id


def _original_ensure_uniques_one(coll, new_data, index):
    saved = coll._store.indexes
    try:
        coll._store.indexes = {'_one': index}
        _original_ensure_uniques(coll, new_data)
    finally:
        coll._store.indexes = saved


def _describe_key(fields, key):
    return '{ %s }' % ', '.join('%s: %r' % (f, v) for f, v in zip(fields, key))


# Equality tables: for the first field of each index, value -> the store keys
# of the documents that had that value when stored (a dict, kept in insertion
# order). Like the unique tables they are only ever added to; every candidate
# is checked against the whole filter anyway, and stale entries are pruned
# when met. A table is rebuilt when the collection's documents were replaced
# (drop).

_eq_tables = {}  # id(collection store) -> {field: (documents dict, {value: {store key: None}})}
_EQ_TYPES = (str, int, Int64, bytes, bson.ObjectId)
_MULTI = ('multi',)  # bucket of documents whose value is an array or document


def _eq_value(doc, field):
    try:
        value = mm_helpers.get_value_by_dot(doc, field)
    except KeyError:
        return None
    if isinstance(value, (list, tuple, dict)):
        return _MULTI
    return _hashable(value)


def _eq_table(store, field):
    tables = _eq_tables.setdefault(id(store), {})
    entry = tables.get(field)
    if entry is not None and entry[0] is store._documents:
        return entry[1]
    table = {}
    for doc in store.documents:
        value = _eq_value(doc, field)
        if value is not None:
            table.setdefault(value, {})[_store_key(doc)] = None
    tables[field] = (store._documents, table)
    return table


def _eq_register(store, doc):
    tables = _eq_tables.get(id(store))
    if not tables:
        return
    for field, (documents, table) in tables.items():
        if documents is store._documents:
            value = _eq_value(doc, field)
            if value is not None:
                table.setdefault(value, {})[_store_key(doc)] = None


def _candidates(store, filter_):
    """The documents that may match filter_, or None when a full scan is needed."""
    if not isinstance(filter_, dict):
        return None
    indexed = None
    documents = None
    for field, value in filter_.items():
        if field.startswith('$') or type(value) not in _EQ_TYPES:
            continue
        if documents is None:
            store._remove_expired_documents()  # TTL indexes; then read the dict directly
            documents = store._documents
        if field == '_id':
            doc = documents.get(value)
            return [] if doc is None else [doc]
        if indexed is None:
            indexed = {index['key'][0][0] for index in store.indexes.values()}
        if field not in indexed:
            continue
        table = _eq_table(store, field)
        docs = []
        for bucket_value in (value, _MULTI):
            bucket = table.get(bucket_value)
            if not bucket:
                continue
            for key in list(bucket):
                doc = documents.get(key)
                if doc is not None and _eq_value(doc, field) == bucket_value:
                    docs.append(doc)
                else:
                    del bucket[key]  # deleted, or the value changed since
        return docs
    return None


def _fast_iter_documents(self, filter_):
    docs = _candidates(self._store, filter_)
    if docs is None:
        return _original_iter_documents(self, filter_)
    if not docs:
        mm_filtering.filter_applies(filter_, {})  # still reject a bad filter
    return (doc for doc in docs if mm_filtering.filter_applies(filter_, doc))


_original_iter_documents = mm_collection.Collection._iter_documents
_original_in_op = mm_filtering._in_op
_in_cache = [None, None]  # [the $in list last seen, its frozenset or None]


def _fast_in_op(doc_val, search_val):
    """$in as a set lookup when the list holds only strings and integers."""
    if _in_cache[0] is not search_val:
        values = None
        if isinstance(search_val, (list, tuple)) and all(
                type(v) in (int, Int64, str, bytes) for v in search_val):
            values = frozenset(search_val)
        _in_cache[0], _in_cache[1] = search_val, values
    values = _in_cache[1]
    if values is not None and type(doc_val) in (int, Int64, str, bytes):
        return doc_val in values
    return _original_in_op(doc_val, search_val)


# --- robust request reading -------------------------------------------------------
#
# mockupdb decodes each message before handing it to us; a message it cannot
# decode raises in its connection thread, which then dies without closing the
# socket, and the client waits for a reply until its socket timeout (minutes).
# This reader answers such a message with an error reply instead.

def _receive_request(client, server):
    while True:
        header = mockupdb.mock_server_receive(client, 16)
        length, request_id, _, opcode = struct.unpack('<iiii', header)
        msg = mockupdb.mock_server_receive(client, length - 16)
        request_type = mockupdb.OPCODES.get(opcode)
        if request_type is None:
            raise ConnectionResetError(errno.ECONNRESET, 'unknown opcode %d' % opcode)
        try:
            return request_type.unpack(msg, client, server, request_id)
        except Exception as e:  # noqa: BLE001 - any decoding failure
            _reply_undecodable(client, opcode, request_id, msg, e)


def _reply_undecodable(client, opcode, request_id, msg, error):
    doc = collections.OrderedDict([
        ('ok', 0), ('errmsg', 'emulator: cannot decode the request: %s' % error),
        ('code', 22), ('codeName', 'InvalidBSON')])
    request = types.SimpleNamespace(request_id=request_id)
    if opcode == mockupdb.OP_MSG:
        flags, = struct.unpack('<I', msg[:4])
        if flags & mockupdb.OP_MSG_FLAGS['moreToCome']:
            return
        client.sendall(mockupdb.OpMsgReply(doc).reply_bytes(request))
    elif opcode == mockupdb.OP_QUERY:
        client.sendall(mockupdb.OpReply(doc).reply_bytes(request))
    # Other (legacy) opcodes have no reply.


def install_speedups():
    mm_collection.Collection._ensure_uniques = _fast_ensure_uniques
    mm_collection.Collection._iter_documents = _fast_iter_documents
    # $nin looks _in_op up at call time; $in sits in the filterer's operator table.
    mm_filtering._in_op = _fast_in_op
    mm_filtering._filterer_inst._operator_map['$in'] = _fast_in_op


# --- the command handlers ------------------------------------------------------

def _sort_list(spec):
    if not spec:
        return None
    out = []
    for key, direction in spec.items():
        if isinstance(direction, dict):
            raise CommandError(115, 'sort by %r is not supported by the emulator' % (direction,))
        out.append((key, -1 if direction < 0 else 1))
    return out


def _cursor_list(cursor):
    """All results of a mongomock cursor. Iterating one copies the remaining
    results at each step (quadratic); its result computation is taken whole."""
    compute = getattr(cursor, '_compute_results', None)
    if compute is None:
        return list(cursor)
    return list(compute(with_limit_and_skip=True))


def _bson_size(doc):
    return len(bson.encode(doc))


class Emulator(object):
    """The server state: one mongomock client and the open cursors."""

    def __init__(self, verbose=False):
        self.verbose = verbose
        self.client = mongomock.MongoClient()
        self.cursors = {}
        self.cursor_ids = itertools.count(1000)
        self.connection_ids = itertools.count(1)
        self.handlers = {
            'hello': self.cmd_hello,
            'isMaster': self.cmd_hello,
            'ismaster': self.cmd_hello,
            'ping': self.cmd_ping,
            'buildInfo': self.cmd_build_info,
            'buildinfo': self.cmd_build_info,
            'endSessions': self.cmd_ping,
            'insert': self.cmd_insert,
            'find': self.cmd_find,
            'getMore': self.cmd_get_more,
            'killCursors': self.cmd_kill_cursors,
            'update': self.cmd_update,
            'delete': self.cmd_delete,
            'aggregate': self.cmd_aggregate,
            'count': self.cmd_count,
            'distinct': self.cmd_distinct,
            'createIndexes': self.cmd_create_indexes,
            'listIndexes': self.cmd_list_indexes,
            'listCollections': self.cmd_list_collections,
            'listDatabases': self.cmd_list_databases,
            'create': self.cmd_create,
            'drop': self.cmd_drop,
            'dropDatabase': self.cmd_drop_database,
        }

    # mockupdb calls this for every request, one at a time (it holds its lock).
    def handle(self, request):
        if not isinstance(request, (OpMsg, Command)):
            if isinstance(request, OpQuery):
                request.fail('legacy OP_QUERY on a collection is not supported by the emulator')
            # Legacy writes and OP_GET_MORE / OP_KILL_CURSORS have no place in
            # wire version 13; there is nothing to reply to them.
            return True
        try:
            doc = request.doc
            if doc and next(iter(doc)) == '$query':
                doc = doc['$query']
            db = doc.get('$db') or request.namespace or 'admin'
            name = next(iter(doc)) if doc else ''
            handler = self.handlers.get(name)
            if handler is None:
                raise CommandError(59, "no such command: '%s'" % name)
            reply = handler(db, doc)
        except CommandError as e:
            reply = self._error(e.code, e.errmsg)
        except mongomock.OperationFailure as e:
            reply = self._error(e.code or 2, str(e))
        except NotImplementedError as e:
            reply = self._error(115, 'not supported by the emulator: %s' % e)
        except (ValueError, TypeError, KeyError, bson.errors.InvalidDocument) as e:
            reply = self._error(2, '%s: %s' % (type(e).__name__, e))
        except Exception as e:  # noqa: BLE001 - a command must never kill the server
            if self.verbose:
                traceback.print_exc()
            reply = self._error(1, 'emulator: %s: %s' % (type(e).__name__, e))
        if self.verbose:
            print('%r -> %r' % (request, reply), file=sys.stderr, flush=True)
        if isinstance(request, OpMsg) and request.flags & mockupdb.OP_MSG_FLAGS['moreToCome']:
            return True  # unacknowledged: no reply wanted
        request.replies(reply)
        return True

    @staticmethod
    def _error(code, errmsg):
        return collections.OrderedDict([
            ('ok', 0), ('errmsg', errmsg), ('code', code),
            ('codeName', CODE_NAMES.get(code, 'UnknownError'))])

    def _coll(self, db, doc, name_field):
        name = doc.get(name_field)
        if not isinstance(name, str) or not name:
            raise CommandError(2, "collection name must be a non-empty string, got %r" % (name,))
        return self.client[db][name]

    # -- server and session commands --

    def cmd_hello(self, db, doc):
        reply = collections.OrderedDict()
        if 'hello' in doc:
            reply['isWritablePrimary'] = True
        else:
            reply['ismaster'] = True
        # A standalone server: no setName, no hosts, and no topologyVersion
        # (so libmongoc polls instead of streaming heartbeats).
        reply.update([
            ('helloOk', True),
            ('maxBsonObjectSize', MAX_BSON_SIZE),
            ('maxMessageSizeBytes', MAX_MESSAGE_SIZE),
            ('maxWriteBatchSize', MAX_WRITE_BATCH),
            ('localTime', datetime.datetime.utcnow()),
            ('logicalSessionTimeoutMinutes', 30),
            ('connectionId', next(self.connection_ids)),
            ('minWireVersion', 0),
            ('maxWireVersion', MAX_WIRE_VERSION),
            ('readOnly', False),
            ('ok', 1),
        ])
        return reply

    def cmd_ping(self, db, doc):
        return {'ok': 1}

    def cmd_build_info(self, db, doc):
        return {'version': '5.0.0-emulator', 'versionArray': [5, 0, 0, 0],
                'gitVersion': 'mongo_emulator.py', 'bits': 64,
                'maxBsonObjectSize': MAX_BSON_SIZE, 'ok': 1}

    # -- writes --

    def cmd_insert(self, db, doc):
        coll = self._coll(db, doc, 'insert')
        documents = doc.get('documents') or []
        ordered = doc.get('ordered', True)
        n = 0
        errors = []
        for i, d in enumerate(documents):
            try:
                coll.insert_one(d)
                n += 1
            except mongomock.WriteError as e:
                errors.append({'index': i, 'code': e.code or 2, 'errmsg': str(e)})
                if ordered:
                    break
        reply = collections.OrderedDict([('n', n)])
        if errors:
            reply['writeErrors'] = errors
        reply['ok'] = 1
        return reply

    def cmd_update(self, db, doc):
        coll = self._coll(db, doc, 'update')
        ordered = doc.get('ordered', True)
        n = modified = 0
        upserted = []
        errors = []
        for i, stmt in enumerate(doc.get('updates') or []):
            try:
                result = self._update_one_statement(coll, stmt)
            except CommandError as e:
                errors.append({'index': i, 'code': e.code, 'errmsg': e.errmsg})
            except mongomock.WriteError as e:
                errors.append({'index': i, 'code': e.code or 2, 'errmsg': str(e)})
            except (mongomock.OperationFailure, ValueError, TypeError) as e:
                errors.append({'index': i, 'code': getattr(e, 'code', None) or 2,
                               'errmsg': str(e)})
            else:
                if result.upserted_id is not None:
                    n += 1
                    upserted.append({'index': i, '_id': result.upserted_id})
                else:
                    n += result.matched_count
                    modified += result.modified_count
                continue
            if ordered:
                break
        reply = collections.OrderedDict([('n', n), ('nModified', modified)])
        if upserted:
            reply['upserted'] = upserted
        if errors:
            reply['writeErrors'] = errors
        reply['ok'] = 1
        return reply

    @staticmethod
    def _update_one_statement(coll, stmt):
        q = stmt.get('q', {})
        u = stmt.get('u')
        upsert = bool(stmt.get('upsert', False))
        multi = bool(stmt.get('multi', False))
        for unsupported in ('arrayFilters', 'collation', 'hint'):
            if stmt.get(unsupported):
                raise CommandError(115, '%s is not supported by the emulator' % unsupported)
        if isinstance(u, list):
            raise CommandError(115, 'pipeline updates are not supported by the emulator')
        if not isinstance(u, dict):
            raise CommandError(9, 'update statement has no document u')
        is_operator = bool(u) and next(iter(u)).startswith('$')
        if not is_operator:
            if multi:
                raise CommandError(9, 'multi update is not supported for replacement-style update')
            return coll.replace_one(q, u, upsert=upsert)
        if multi:
            return coll.update_many(q, u, upsert=upsert)
        return coll.update_one(q, u, upsert=upsert)

    def cmd_delete(self, db, doc):
        coll = self._coll(db, doc, 'delete')
        ordered = doc.get('ordered', True)
        n = 0
        errors = []
        for i, stmt in enumerate(doc.get('deletes') or []):
            try:
                q = stmt.get('q', {})
                if stmt.get('limit', 0) == 1:
                    n += coll.delete_one(q).deleted_count
                else:
                    n += coll.delete_many(q).deleted_count
            except (mongomock.OperationFailure, ValueError, TypeError) as e:
                errors.append({'index': i, 'code': getattr(e, 'code', None) or 2,
                               'errmsg': str(e)})
                if ordered:
                    break
        reply = collections.OrderedDict([('n', n)])
        if errors:
            reply['writeErrors'] = errors
        reply['ok'] = 1
        return reply

    # -- reads and cursors --

    def _open_cursor(self, ns, docs, first_batch_size, single_batch):
        """Builds a cursor reply; keeps the rest for getMore unless single_batch."""
        docs = collections.deque(docs)
        batch = self._take(docs, first_batch_size)
        cursor_id = 0
        if docs and not single_batch:
            cursor_id = next(self.cursor_ids)
            self.cursors[cursor_id] = {'ns': ns, 'docs': docs}
        return collections.OrderedDict([
            ('cursor', collections.OrderedDict([
                ('firstBatch', batch), ('id', Int64(cursor_id)), ('ns', ns)])),
            ('ok', 1)])

    @staticmethod
    def _take(docs, count):
        """Pops up to count documents (0: no count limit) within the reply size limit."""
        batch = []
        size = 0
        while docs and (count <= 0 or len(batch) < count):
            doc_size = _bson_size(docs[0])
            if batch and size + doc_size > MAX_BSON_SIZE - REPLY_OVERHEAD:
                break
            batch.append(docs.popleft())
            size += doc_size
        return batch

    def cmd_find(self, db, doc):
        coll = self._coll(db, doc, 'find')
        for unsupported in ('min', 'max', 'returnKey', 'showRecordId', 'tailable',
                            'awaitData', 'collation'):
            if doc.get(unsupported):
                raise CommandError(115, '%s is not supported by the emulator' % unsupported)
        filter_ = doc.get('filter') or {}
        projection = doc.get('projection') or None
        skip = int(doc.get('skip', 0) or 0)
        limit = int(doc.get('limit', 0) or 0)
        batch_size = int(doc.get('batchSize', 0) or 0)
        single_batch = bool(doc.get('singleBatch', False))
        if skip < 0 or batch_size < 0:
            raise CommandError(2, 'skip and batchSize must not be negative')
        if limit < 0:
            limit, single_batch = -limit, True
        cursor = coll.find(filter_, projection=projection, skip=skip, limit=limit,
                           sort=_sort_list(doc.get('sort')))
        docs = _cursor_list(cursor)
        first = batch_size if 'batchSize' in doc else DEFAULT_FIRST_BATCH
        if first == 0 and 'batchSize' in doc:
            first = -1  # batchSize 0: an empty first batch, everything by getMore
        ns = '%s.%s' % (db, coll.name)
        if first < 0:
            return self._open_cursor_empty(ns, docs, single_batch)
        return self._open_cursor(ns, docs, first, single_batch)

    def _open_cursor_empty(self, ns, docs, single_batch):
        cursor_id = 0
        if docs and not single_batch:
            cursor_id = next(self.cursor_ids)
            self.cursors[cursor_id] = {'ns': ns, 'docs': collections.deque(docs)}
        return collections.OrderedDict([
            ('cursor', collections.OrderedDict([
                ('firstBatch', []), ('id', Int64(cursor_id)), ('ns', ns)])),
            ('ok', 1)])

    def cmd_get_more(self, db, doc):
        cursor_id = int(doc.get('getMore') or 0)
        cursor = self.cursors.get(cursor_id)
        if cursor is None:
            raise CommandError(43, 'cursor id %d not found' % cursor_id)
        batch = self._take(cursor['docs'], int(doc.get('batchSize', 0) or 0))
        if not cursor['docs']:
            del self.cursors[cursor_id]
            cursor_id = 0
        return collections.OrderedDict([
            ('cursor', collections.OrderedDict([
                ('nextBatch', batch), ('id', Int64(cursor_id)), ('ns', cursor['ns'])])),
            ('ok', 1)])

    def cmd_kill_cursors(self, db, doc):
        killed, not_found = [], []
        for cursor_id in doc.get('cursors') or []:
            if self.cursors.pop(int(cursor_id), None) is not None:
                killed.append(Int64(cursor_id))
            else:
                not_found.append(Int64(cursor_id))
        return collections.OrderedDict([
            ('cursorsKilled', killed), ('cursorsNotFound', not_found),
            ('cursorsAlive', []), ('cursorsUnknown', []), ('ok', 1)])

    def cmd_aggregate(self, db, doc):
        if not isinstance(doc.get('aggregate'), str):
            raise CommandError(115, 'database-level aggregation is not supported by the emulator')
        coll = self._coll(db, doc, 'aggregate')
        pipeline = doc.get('pipeline')
        if not isinstance(pipeline, list):
            raise CommandError(9, "'pipeline' option must be specified as an array")
        if doc.get('explain'):
            raise CommandError(115, 'explain is not supported by the emulator')
        cursor_opts = doc.get('cursor')
        if not isinstance(cursor_opts, dict):
            raise CommandError(9, "The 'cursor' option is required")
        # mongomock's aggregate copies the whole collection before the first
        # stage; a leading $match is run as a find instead (which can use the
        # equality tables), then the rest of the pipeline on its result.
        start = []
        if pipeline and isinstance(pipeline[0], dict) and list(pipeline[0]) == ['$match']:
            start = _cursor_list(coll.find(pipeline[0]['$match']))
            pipeline = pipeline[1:]
        else:
            start = _cursor_list(coll.find())
        docs = list(mm_aggregate.process_pipeline(start, coll.database, pipeline, None))
        first = int(cursor_opts.get('batchSize', DEFAULT_FIRST_BATCH))
        ns = '%s.%s' % (db, coll.name)
        if first == 0:
            return self._open_cursor_empty(ns, docs, False)
        return self._open_cursor(ns, docs, first, False)

    def cmd_count(self, db, doc):
        coll = self._coll(db, doc, 'count')
        kwargs = {}
        if doc.get('skip'):
            kwargs['skip'] = int(doc['skip'])
        if doc.get('limit'):
            kwargs['limit'] = abs(int(doc['limit']))
        n = coll.count_documents(doc.get('query') or {}, **kwargs)
        return {'n': n, 'ok': 1}

    def cmd_distinct(self, db, doc):
        coll = self._coll(db, doc, 'distinct')
        key = doc.get('key')
        if not isinstance(key, str):
            raise CommandError(2, "'key' must be a string")
        return {'values': coll.distinct(key, doc.get('query') or {}), 'ok': 1}

    # -- collections and indexes --

    def _exists(self, db, name):
        return name in self.client[db].list_collection_names()

    def cmd_create_indexes(self, db, doc):
        coll = self._coll(db, doc, 'createIndexes')
        indexes = doc.get('indexes')
        if not isinstance(indexes, list) or not indexes:
            raise CommandError(2, "'indexes' must be a non-empty array")
        existed = self._exists(db, coll.name)
        before = len(list(coll.list_indexes())) if existed else 1
        for spec in indexes:
            key = spec.get('key')
            name = spec.get('name')
            if not isinstance(key, dict) or not key or not isinstance(name, str):
                raise CommandError(2, 'an index needs a key document and a name')
            if self._same_index_exists(coll, name, key, spec):
                continue  # as a real server: nothing to do, and no rescan of the data
            kwargs = {'name': name}
            for option in ('unique', 'sparse', 'expireAfterSeconds',
                           'partialFilterExpression'):
                if option in spec:
                    kwargs[option] = spec[option]
            try:
                coll.create_index(list(key.items()), **kwargs)
            except mongomock.DuplicateKeyError:
                raise
            except mongomock.OperationFailure as e:
                raise CommandError(85, str(e))
        after = len(list(coll.list_indexes()))
        reply = collections.OrderedDict([
            ('createdCollectionAutomatically', not existed),
            ('numIndexesBefore', before), ('numIndexesAfter', after)])
        if after == before:
            reply['note'] = 'all indexes already exist'
        reply['ok'] = 1
        return reply

    @staticmethod
    def _same_index_exists(coll, name, key, spec):
        for index in coll.list_indexes():
            if index['name'] == name:
                return (list(index['key'].items()) == list(key.items())
                        and bool(index.get('unique')) == bool(spec.get('unique'))
                        and bool(index.get('sparse')) == bool(spec.get('sparse')))
        return False

    def cmd_list_indexes(self, db, doc):
        coll = self._coll(db, doc, 'listIndexes')
        if not self._exists(db, coll.name):
            raise CommandError(26, 'ns does not exist: %s.%s' % (db, coll.name))
        docs = []
        for index in coll.list_indexes():
            out = collections.OrderedDict([('v', 2), ('key', index['key']),
                                           ('name', index['name'])])
            for option in ('unique', 'sparse', 'expireAfterSeconds',
                           'partialFilterExpression'):
                if option in index:
                    out[option] = index[option]
            docs.append(out)
        batch = int((doc.get('cursor') or {}).get('batchSize', DEFAULT_FIRST_BATCH))
        return self._open_cursor('%s.%s' % (db, coll.name), docs, batch, False)

    def cmd_list_collections(self, db, doc):
        filter_ = doc.get('filter') or {}
        name_only = bool(doc.get('nameOnly', False))
        docs = []
        for name in sorted(self.client[db].list_collection_names()):
            info = collections.OrderedDict([('name', name), ('type', 'collection')])
            if not name_only:
                info['options'] = {}
                info['info'] = {'readOnly': False}
                info['idIndex'] = {'v': 2, 'key': {'_id': 1}, 'name': '_id_'}
            if mm_filtering.filter_applies(filter_, info):
                docs.append(info)
        batch = int((doc.get('cursor') or {}).get('batchSize', DEFAULT_FIRST_BATCH))
        return self._open_cursor('%s.$cmd.listCollections' % db, docs, batch, False)

    def cmd_list_databases(self, db, doc):
        names = sorted(self.client.list_database_names())
        if doc.get('nameOnly'):
            dbs = [{'name': n} for n in names]
        else:
            dbs = [{'name': n, 'sizeOnDisk': 0, 'empty': False} for n in names]
        return {'databases': dbs, 'totalSize': 0, 'ok': 1}

    def cmd_create(self, db, doc):
        name = doc.get('create')
        if not isinstance(name, str) or not name:
            raise CommandError(2, 'collection name must be a non-empty string')
        if self._exists(db, name):
            raise CommandError(48, 'Collection already exists. NS: %s.%s' % (db, name))
        self.client[db].create_collection(name)
        return {'ok': 1}

    def cmd_drop(self, db, doc):
        coll = self._coll(db, doc, 'drop')
        if not self._exists(db, coll.name):
            raise CommandError(26, 'ns not found')
        n_indexes = len(list(coll.list_indexes()))
        self.client[db].drop_collection(coll.name)
        return {'ns': '%s.%s' % (db, coll.name), 'nIndexesWas': n_indexes, 'ok': 1}

    def cmd_drop_database(self, db, doc):
        self.client.drop_database(db)
        return {'dropped': db, 'ok': 1}


def main():
    parser = argparse.ArgumentParser(
        description='MongoDB emulator at the wire level, for tests (not MongoDB).')
    parser.add_argument('--port', type=int, required=True, help='TCP port, 0 for any free one')
    parser.add_argument('--host', default='127.0.0.1', help='address to listen on')
    parser.add_argument('--verbose', action='store_true',
                        help='log every request and reply on stderr')
    args = parser.parse_args()

    install_speedups()
    mockupdb.mock_server_receive_request = _receive_request
    emulator = Emulator(verbose=args.verbose)
    server = MockupDB(port=args.port or None, request_timeout=int(1e6))
    # mockupdb always binds "localhost"; listen where we were asked to.
    server._address = (args.host, args.port or None)
    server.autoresponds(emulator.handle)

    def stop(signum, frame):
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    port = server.run()
    print('ready %d' % port, flush=True)
    # Nothing else goes to stdout: the reader of "ready" may have gone away.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    while True:
        signal.pause()


if __name__ == '__main__':
    main()
