-- vmrdma.lua: a Wireshark / tshark dissector for the vmrdma wire protocol, version 1 (docs/wire-protocol.md).
--
-- Install (Wireshark / tshark 3.x and 4.x, built with Lua; Debian's wireshark and tshark are):
--   * for one user:   mkdir -p ~/.local/lib/wireshark/plugins && cp share/wireshark/vmrdma.lua "$_"/
--                     (Wireshark's Help > About > Folders shows the "Personal Lua Plugins" folder)
--   * for everyone:   cp share/wireshark/vmrdma.lua /usr/lib/x86_64-linux-gnu/wireshark/plugins/
--   * for one run:    tshark -X lua_script:share/wireshark/vmrdma.lua -r capture.pcap
--
-- What it decodes:
--   * raw Ethernet frames of EtherType 0x88B5 (nic.packet; preference vmrdma.ethertype),
--   * UDP datagrams on port 4792 (nic.udp's default; preference vmrdma.udp_port, e.g. -o vmrdma.udp_port:5000),
--     and on any other port through Analyze > Decode As (tshark: -d udp.port==5000,vmrdma).
--   Every frame type, the base header, each type's extension, the payload (CM payloads field by field), the payload
--   CRC32C or the authentication trailer (epoch, frame counter, GMAC tag: shown, not verified, since that needs the
--   cluster secret). The header CRC32C and the payload CRC32C are computed and compared (vmrdma.header_crc.status,
--   vmrdma.payload_crc.status: 0 bad, 1 good, 2 not checked). Short frames, another version, lengths that do not
--   add up, CRC mismatches, unknown types and CM payloads out of range are expert infos (group Malformed or
--   Checksum, severity Error).
--
-- Queue-pair conversations: every frame of a connection carries vmrdma.conv ("1:0x000011 <-> 2:0x000012", the same
-- both ways) and vmrdma.stream (a number per conversation, as tcp.stream), and its two ends as vmrdma.qp (filter
-- vmrdma.qp == "1:0x000011" matches both directions). CM frames that name only one queue pair are put in their
-- connection's conversation by connection id once it is known (on a second pass: tshark -2, or Wireshark after
-- loading). Statistics: tshark -z vmrdma,qp (or Statistics > vmrdma queue pairs in Wireshark) lists frames and
-- bytes per conversation and direction.
--
-- Written against Wireshark's Lua API as Wireshark 4.0 (Lua 5.2) has it: bit operations come from bit32.

local bit = bit32
local band, bor, bxor, rshift, lshift = bit.band, bit.bor, bit.bxor, bit.rshift, bit.lshift

local vmrdma = Proto("vmrdma", "vmrdma RDMA interconnect")

local DEFAULT_ETHERTYPE = 0x88B5
local DEFAULT_UDP_PORT = 4792
local BASE_LENGTH = 32
local VERSION = 1
local AUTH_TRAILER = 32

-- ------------------------------------------------------------------------------------------------ CRC32C

-- Castagnoli, reflected (as iSCSI and java.util.zip.CRC32C): one table of 256 entries, one byte a step.
local CRC_TABLE = {}
for i = 0, 255 do
    local c = i
    for _ = 1, 8 do
        if band(c, 1) ~= 0 then
            c = bxor(rshift(c, 1), 0x82F63B78)
        else
            c = rshift(c, 1)
        end
    end
    CRC_TABLE[i] = c
end

-- Adds the bytes of Lua string s to a running CRC (start with 0xFFFFFFFF, finish with crc32c_final).
local function crc32c_update(crc, s)
    local n = #s
    local i = 1
    while i <= n do
        local j = math.min(i + 255, n)
        local chunk = { string.byte(s, i, j) }
        for k = 1, #chunk do
            crc = bxor(CRC_TABLE[band(bxor(crc, chunk[k]), 0xFF)], rshift(crc, 8))
        end
        i = j + 1
    end
    return crc
end

local function crc32c_final(crc)
    return bxor(crc, 0xFFFFFFFF)
end

-- ------------------------------------------------------------------------------------------------ tables

local TYPES = {
    [0x01] = { name = "HELLO", ext = 16 },
    [0x02] = { name = "HELLO_REPLY", ext = 16 },
    [0x10] = { name = "WRITE", ext = 32 },
    [0x11] = { name = "SEND", ext = 24 },
    [0x12] = { name = "READ_REQUEST", ext = 24 },
    [0x13] = { name = "READ_RESPONSE", ext = 8 },
    [0x20] = { name = "ACK", ext = 8 },
    [0x21] = { name = "NAK", ext = 8 },
    [0x30] = { name = "CM_REQUEST", ext = 24 },
    [0x31] = { name = "CM_REPLY", ext = 24 },
    [0x32] = { name = "CM_REJECT", ext = 24 },
    [0x33] = { name = "DISCONNECT_REQUEST", ext = 24 },
    [0x34] = { name = "DISCONNECT_REPLY", ext = 24 },
    [0x40] = { name = "MIGRATE", ext = 24 },
    [0x41] = { name = "QP_MOVED", ext = 16 },
    [0x42] = { name = "QP_MOVED_ACK", ext = 16 },
}

local MIGRATE_STEPS = {
    [1] = "OFFER", [2] = "ACCEPT", [3] = "STATE", [4] = "STATE_ACK", [5] = "READY", [6] = "COMMIT",
    [7] = "COMMITTED", [8] = "ABORT",
}
local TYPE_NAMES = {}
for code, t in pairs(TYPES) do
    TYPE_NAMES[code] = t.name
end

local NAK_CODES = {
    [1] = "receiver not ready",
    [2] = "remote access",
    [3] = "invalid request",
    [4] = "remote operation",
}
local CRC_STATUS = { [0] = "Bad", [1] = "Good", [2] = "Not checked" }

local FLAG_FIRST, FLAG_LAST, FLAG_IMM, FLAG_ACK_REQUEST, FLAG_DISCOVERY, FLAG_AUTH = 1, 2, 4, 8, 16, 32
local FLAG_PRESSURE = 64
local FLAG_NAMES = {
    { FLAG_FIRST, "FIRST" }, { FLAG_LAST, "LAST" }, { FLAG_IMM, "IMM" }, { FLAG_ACK_REQUEST, "ACK_REQUEST" },
    { FLAG_DISCOVERY, "DISCOVERY" }, { FLAG_AUTH, "AUTH" }, { FLAG_PRESSURE, "PRESSURE" },
}

-- ------------------------------------------------------------------------------------------------ fields

local f = {
    version = ProtoField.uint8("vmrdma.version", "Version", base.DEC),
    type = ProtoField.uint8("vmrdma.type", "Type", base.HEX, TYPE_NAMES),
    flags = ProtoField.uint16("vmrdma.flags", "Flags", base.HEX),
    flag_first = ProtoField.bool("vmrdma.flags.first", "FIRST", 16, nil, FLAG_FIRST),
    flag_last = ProtoField.bool("vmrdma.flags.last", "LAST", 16, nil, FLAG_LAST),
    flag_imm = ProtoField.bool("vmrdma.flags.imm", "IMM (carries immediate data)", 16, nil, FLAG_IMM),
    flag_ack_request = ProtoField.bool("vmrdma.flags.ack_request", "ACK_REQUEST", 16, nil, FLAG_ACK_REQUEST),
    flag_discovery = ProtoField.bool("vmrdma.flags.discovery", "DISCOVERY (broadcast HELLO)", 16, nil,
        FLAG_DISCOVERY),
    flag_auth = ProtoField.bool("vmrdma.flags.auth", "AUTH (authentication trailer)", 16, nil, FLAG_AUTH),
    flag_pressure = ProtoField.bool("vmrdma.flags.pressure", "PRESSURE (ACK: receiver asks to back off)", 16, nil,
        FLAG_PRESSURE),
    flag_reserved = ProtoField.uint16("vmrdma.flags.reserved", "Reserved flags", base.HEX, nil, 0xFF80),
    src_node = ProtoField.uint16("vmrdma.src_node", "Source node", base.DEC),
    dst_node = ProtoField.uint16("vmrdma.dst_node", "Destination node", base.DEC),
    node = ProtoField.uint16("vmrdma.node", "Node (source or destination)", base.DEC),
    pkey = ProtoField.uint16("vmrdma.pkey", "Partition key", base.HEX),
    payload_length = ProtoField.uint16("vmrdma.payload_length", "Payload length", base.DEC),
    dst_qpn = ProtoField.uint32("vmrdma.dst_qpn", "Destination QPN", base.HEX),
    src_qpn = ProtoField.uint32("vmrdma.src_qpn", "Source QPN", base.HEX),
    psn = ProtoField.uint32("vmrdma.psn", "PSN", base.DEC),
    header_crc = ProtoField.uint32("vmrdma.header_crc", "Header CRC32C", base.HEX),
    header_crc_status = ProtoField.uint8("vmrdma.header_crc.status", "Header CRC32C status", base.DEC, CRC_STATUS),
    header_crc_computed = ProtoField.uint32("vmrdma.header_crc.computed", "Header CRC32C computed", base.HEX),
    aux = ProtoField.uint32("vmrdma.aux", "Aux", base.HEX),
    first_psn = ProtoField.uint32("vmrdma.first_psn", "First PSN of the message", base.DEC),
    header_length = ProtoField.uint16("vmrdma.header_length", "Header length (base + extension)", base.DEC),
    frame_length = ProtoField.uint32("vmrdma.frame_length", "Frame length (header + payload + trailer)", base.DEC),

    -- HELLO, HELLO_REPLY
    hello_version = ProtoField.uint16("vmrdma.hello.protocol_version", "Protocol version", base.DEC),
    hello_probe = ProtoField.uint16("vmrdma.hello.probe", "Probe id", base.DEC, { [0] = "no probe" }),
    hello_mtu = ProtoField.uint32("vmrdma.hello.mtu", "MTU", base.DEC),
    hello_incarnation = ProtoField.uint64("vmrdma.hello.incarnation", "Incarnation", base.HEX),
    hello_challenge = ProtoField.uint64("vmrdma.hello.challenge", "Challenge", base.HEX),

    -- WRITE
    write_address = ProtoField.uint64("vmrdma.write.remote_address", "Remote address", base.HEX),
    write_rkey = ProtoField.uint32("vmrdma.write.rkey", "Rkey", base.HEX),
    write_length = ProtoField.uint32("vmrdma.write.message_length", "Message length", base.DEC),
    write_last_psn = ProtoField.uint32("vmrdma.write.last_psn", "Last PSN of the message", base.DEC),
    write_imm = ProtoField.uint32("vmrdma.write.imm", "Immediate data", base.HEX),
    write_msn = ProtoField.int32("vmrdma.write.msn", "Message sequence number (-1: consumes no receive)", base.DEC),
    write_reserved = ProtoField.uint32("vmrdma.write.reserved", "Reserved", base.HEX),

    -- SEND
    send_offset = ProtoField.uint64("vmrdma.send.offset", "Offset in the message", base.DEC),
    send_length = ProtoField.uint32("vmrdma.send.message_length", "Message length", base.DEC),
    send_last_psn = ProtoField.uint32("vmrdma.send.last_psn", "Last PSN of the message", base.DEC),
    send_imm = ProtoField.uint32("vmrdma.send.imm", "Immediate data", base.HEX),
    send_msn = ProtoField.int32("vmrdma.send.msn", "Message sequence number", base.DEC),

    -- READ_REQUEST, READ_RESPONSE
    read_packets = ProtoField.uint32("vmrdma.read.packets", "Response packets", base.DEC),
    read_address = ProtoField.uint64("vmrdma.read.remote_address", "Remote address", base.HEX),
    read_rkey = ProtoField.uint32("vmrdma.read.rkey", "Rkey", base.HEX),
    read_length = ProtoField.uint32("vmrdma.read.length", "Length", base.DEC),
    read_segment = ProtoField.uint32("vmrdma.read.segment", "Segment (payload bytes per response)", base.DEC),
    read_offset = ProtoField.uint32("vmrdma.read.offset", "Offset of the first byte in the whole READ", base.DEC),
    read_response_offset = ProtoField.uint64("vmrdma.read_response.offset", "Offset in the whole READ", base.DEC),

    -- ACK, NAK
    ack_psn = ProtoField.uint32("vmrdma.ack.cumulative_psn", "Cumulative PSN (every PSN before it received)",
        base.DEC),
    ack_sack = ProtoField.uint64("vmrdma.ack.sack", "Selective acknowledgement bitmap", base.HEX),
    ack_sacked = ProtoField.uint32("vmrdma.ack.sacked_psn", "Selectively acknowledged PSN", base.DEC),
    nak_psn = ProtoField.uint32("vmrdma.nak.psn", "PSN refused", base.DEC),
    nak_code = ProtoField.uint32("vmrdma.nak.code", "Code", base.DEC, NAK_CODES),
    nak_delay = ProtoField.uint32("vmrdma.nak.rnr_delay", "Retry after (microseconds)", base.DEC),

    -- Connection manager
    cm_id = ProtoField.uint64("vmrdma.cm.connection_id", "Connection id", base.HEX),
    cm_service = ProtoField.uint64("vmrdma.cm.service_id", "Service id", base.DEC),
    cm_requester_domid = ProtoField.uint32("vmrdma.cm.requester_domid", "Requester's domid", base.DEC),
    cm_listener_domid = ProtoField.uint64("vmrdma.cm.listener_domid", "Listener's domid", base.DEC),
    cm_pkey = ProtoField.uint32("vmrdma.cm.pkey", "Partition key chosen", base.HEX),
    cm_psn = ProtoField.uint32("vmrdma.cm.initial_psn", "Initial PSN", base.DEC),
    cm_ext_reserved = ProtoField.bytes("vmrdma.cm.reserved", "Reserved"),
    migrate_id = ProtoField.uint64("vmrdma.migrate.id", "Migration id", base.HEX),
    migrate_step = ProtoField.uint16("vmrdma.migrate.step", "Step", base.DEC, MIGRATE_STEPS),
    migrate_offset = ProtoField.uint32("vmrdma.migrate.offset", "Offset in the image", base.DEC),
    migrate_total = ProtoField.uint32("vmrdma.migrate.total", "Image length", base.DEC),
    migrate_domid = ProtoField.uint32("vmrdma.migrate.domid", "Domid", base.DEC),
    moved_connection = ProtoField.uint64("vmrdma.qp_moved.connection_id", "Connection id", base.HEX),
    moved_node = ProtoField.uint16("vmrdma.qp_moved.new_node", "New node", base.DEC),
    cm_partition_count = ProtoField.uint8("vmrdma.cm.partition_count", "Partition keys offered", base.DEC),
    cm_partition = ProtoField.uint16("vmrdma.cm.partition", "Partition key offered", base.HEX),
    cm_private_length = ProtoField.uint8("vmrdma.cm.private_data_length", "Private data length", base.DEC),
    cm_private = ProtoField.bytes("vmrdma.cm.private_data", "Private data"),
    cm_name_length = ProtoField.uint8("vmrdma.cm.domain_name_length", "Domain name length", base.DEC),
    cm_name = ProtoField.string("vmrdma.cm.domain_name", "Domain name", base.UNICODE),
    cm_reason = ProtoField.string("vmrdma.cm.reason", "Reason", base.UNICODE),

    -- Payload and trailer
    payload = ProtoField.bytes("vmrdma.payload", "Payload"),
    payload_crc = ProtoField.uint32("vmrdma.payload_crc", "Payload CRC32C", base.HEX),
    payload_crc_status = ProtoField.uint8("vmrdma.payload_crc.status", "Payload CRC32C status", base.DEC,
        CRC_STATUS),
    payload_crc_computed = ProtoField.uint32("vmrdma.payload_crc.computed", "Payload CRC32C computed", base.HEX),
    auth = ProtoField.bytes("vmrdma.auth", "Authentication trailer"),
    auth_epoch = ProtoField.uint64("vmrdma.auth.epoch", "Sender's epoch", base.HEX),
    auth_counter = ProtoField.uint64("vmrdma.auth.counter", "Sender's frame counter", base.DEC),
    auth_tag = ProtoField.bytes("vmrdma.auth.tag", "GMAC tag (not verified: needs the cluster secret)"),
    trailing = ProtoField.bytes("vmrdma.trailing", "Bytes after the frame"),

    -- Conversations
    src_qp = ProtoField.string("vmrdma.src_qp", "Source queue pair (node:QPN)"),
    dst_qp = ProtoField.string("vmrdma.dst_qp", "Destination queue pair (node:QPN)"),
    qp = ProtoField.string("vmrdma.qp", "Queue pair (source or destination)"),
    conv = ProtoField.string("vmrdma.conv", "Queue-pair conversation"),
    stream = ProtoField.uint32("vmrdma.stream", "Queue-pair conversation index", base.DEC),
}
local field_list = {}
for _, field in pairs(f) do
    field_list[#field_list + 1] = field
end
vmrdma.fields = field_list

local e = {
    short = ProtoExpert.new("vmrdma.expert.short", "Frame shorter than the 32-byte base header",
        expert.group.MALFORMED, expert.severity.ERROR),
    bad_version = ProtoExpert.new("vmrdma.expert.bad_version", "Version is not 1 (receivers drop it as malformed)",
        expert.group.MALFORMED, expert.severity.ERROR),
    hello_version = ProtoExpert.new("vmrdma.expert.hello_version", "The sender speaks another protocol version",
        expert.group.PROTOCOL, expert.severity.WARN),
    unknown_type = ProtoExpert.new("vmrdma.expert.unknown_type", "Unknown frame type",
        expert.group.MALFORMED, expert.severity.ERROR),
    bad_length = ProtoExpert.new("vmrdma.expert.bad_length",
        "Frame shorter than its header, payload length and trailer say", expert.group.MALFORMED,
        expert.severity.ERROR),
    bad_payload = ProtoExpert.new("vmrdma.expert.bad_payload", "Field out of range",
        expert.group.MALFORMED, expert.severity.ERROR),
    header_crc = ProtoExpert.new("vmrdma.expert.header_crc_bad", "Header CRC32C mismatch",
        expert.group.CHECKSUM, expert.severity.ERROR),
    payload_crc = ProtoExpert.new("vmrdma.expert.payload_crc_bad", "Payload CRC32C mismatch",
        expert.group.CHECKSUM, expert.severity.ERROR),
    trailing = ProtoExpert.new("vmrdma.expert.trailing", "Bytes after the frame (ignored by receivers)",
        expert.group.PROTOCOL, expert.severity.NOTE),
    nak = ProtoExpert.new("vmrdma.expert.nak", "Negative acknowledgement",
        expert.group.RESPONSE_CODE, expert.severity.WARN),
    sack = ProtoExpert.new("vmrdma.expert.sack", "Selective acknowledgement: PSNs after a gap arrived",
        expert.group.SEQUENCE, expert.severity.NOTE),
    reject = ProtoExpert.new("vmrdma.expert.cm_reject", "Connection rejected",
        expert.group.RESPONSE_CODE, expert.severity.NOTE),
}
vmrdma.experts = { e.short, e.bad_version, e.hello_version, e.unknown_type, e.bad_length, e.bad_payload,
                   e.header_crc, e.payload_crc, e.trailing, e.nak, e.sack, e.reject }

vmrdma.prefs.ethertype = Pref.uint("EtherType", DEFAULT_ETHERTYPE,
    "EtherType of vmrdma frames on raw Ethernet (nic.packet's etherType; default 0x88B5 = 34997)")
vmrdma.prefs.udp_port = Pref.uint("UDP port", DEFAULT_UDP_PORT,
    "UDP port of vmrdma frames (nic.udp's port; default 4792; 0: none, use Decode As)")
vmrdma.prefs.check_payload_crc = Pref.bool("Check payload CRC32C", true,
    "Compute each non-empty payload's CRC32C and compare it with the trailer (costs time on big captures)")

-- ------------------------------------------------------------------------------------------------ state

-- Conversations: index per normalised queue-pair pair, and connection id -> conversation (from frames naming both).
local streams = {}
local stream_count = 0
local by_connection = {}

function vmrdma.init()
    streams = {}
    stream_count = 0
    by_connection = {}
end

local function qp_name(node, qpn)
    return string.format("%d:0x%06x", node, qpn)
end

local function conversation(a, b)
    if a > b then
        a, b = b, a
    end
    return a .. " <-> " .. b
end

local function stream_of(conv)
    local index = streams[conv]
    if index == nil then
        index = stream_count
        streams[conv] = index
        stream_count = stream_count + 1
    end
    return index
end

-- ------------------------------------------------------------------------------------------------ dissection

local function flag_text(flags)
    local names = {}
    for _, pair in ipairs(FLAG_NAMES) do
        if band(flags, pair[1]) ~= 0 then
            names[#names + 1] = pair[2]
        end
    end
    return table.concat(names, ",")
end

-- The CRC32C of the header (base and extension) with its CRC field taken as zero.
local function header_crc(tvb, header_length)
    local crc = 0xFFFFFFFF
    crc = crc32c_update(crc, tvb:raw(0, 24))
    crc = crc32c_update(crc, "\0\0\0\0")
    crc = crc32c_update(crc, tvb:raw(28, header_length - 28))
    return crc32c_final(crc)
end

local function dissect_extension(code, tvb, tree, ext_tree, info, problems, aux_range)
    local aux = aux_range:le_uint()
    if code == 0x01 or code == 0x02 then
        tree:add(f.aux, aux_range, aux)
        local version = tvb(32, 2):le_uint()
        local item = ext_tree:add_le(f.hello_version, tvb(32, 2))
        if version ~= VERSION then
            item:add_proto_expert_info(e.hello_version,
                string.format("The sender speaks vmrdma protocol %d, this dissector knows %d", version, VERSION))
            problems[#problems + 1] = "protocol " .. version
        end
        ext_tree:add_le(f.hello_probe, tvb(34, 2))
        ext_tree:add_le(f.hello_mtu, tvb(36, 4))
        ext_tree:add_le(f.hello_incarnation, tvb(40, 8))
        info[#info + 1] = string.format("probe %d MTU %d", tvb(34, 2):le_uint(), tvb(36, 4):le_uint())
    elseif code == 0x10 then
        tree:add_le(f.first_psn, aux_range)
        ext_tree:add_le(f.write_address, tvb(32, 8))
        ext_tree:add_le(f.write_rkey, tvb(40, 4))
        ext_tree:add_le(f.write_length, tvb(44, 4))
        ext_tree:add_le(f.write_last_psn, tvb(48, 4))
        ext_tree:add_le(f.write_imm, tvb(52, 4))
        ext_tree:add_le(f.write_msn, tvb(56, 4))
        ext_tree:add_le(f.write_reserved, tvb(60, 4))
        info[#info + 1] = string.format("addr 0x%s rkey 0x%08x msg %d PSNs %d..%d",
            tvb(32, 8):le_uint64():tohex(), tvb(40, 4):le_uint(), tvb(44, 4):le_uint(), aux, tvb(48, 4):le_uint())
    elseif code == 0x11 then
        tree:add_le(f.first_psn, aux_range)
        ext_tree:add_le(f.send_offset, tvb(32, 8))
        ext_tree:add_le(f.send_length, tvb(40, 4))
        ext_tree:add_le(f.send_last_psn, tvb(44, 4))
        ext_tree:add_le(f.send_imm, tvb(48, 4))
        ext_tree:add_le(f.send_msn, tvb(52, 4))
        info[#info + 1] = string.format("offset %s msg %d MSN %d", tostring(tvb(32, 8):le_uint64()),
            tvb(40, 4):le_uint(), tvb(52, 4):le_int())
    elseif code == 0x12 then
        local item = tree:add_le(f.read_packets, aux_range)
        ext_tree:add_le(f.read_address, tvb(32, 8))
        ext_tree:add_le(f.read_rkey, tvb(40, 4))
        ext_tree:add_le(f.read_length, tvb(44, 4))
        ext_tree:add_le(f.read_segment, tvb(48, 4))
        ext_tree:add_le(f.read_offset, tvb(52, 4))
        local length, segment = tvb(44, 4):le_uint(), tvb(48, 4):le_uint()
        local expected = segment > 0 and math.max(1, math.ceil(length / segment)) or -1
        if segment == 0 or aux ~= expected or aux > 256 then
            item:add_proto_expert_info(e.bad_payload, string.format(
                "Response packets %d: must be ceil(length %d / segment %d), at least 1, at most 256", aux, length,
                segment))
            problems[#problems + 1] = "bad response count"
        end
        info[#info + 1] = string.format("addr 0x%s rkey 0x%08x len %d in %d", tvb(32, 8):le_uint64():tohex(),
            tvb(40, 4):le_uint(), length, aux)
    elseif code == 0x13 then
        tree:add(f.aux, aux_range, aux)
        ext_tree:add_le(f.read_response_offset, tvb(32, 8))
        info[#info + 1] = "offset " .. tostring(tvb(32, 8):le_uint64())
    elseif code == 0x20 then
        tree:add_le(f.ack_psn, aux_range)
        local sack_item = ext_tree:add_le(f.ack_sack, tvb(32, 8))
        local low, high = tvb(32, 4):le_uint(), tvb(36, 4):le_uint()
        local sacked = {}
        for i = 0, 63 do
            local word = i < 32 and low or high
            if band(word, lshift(1, i % 32)) ~= 0 then
                local psn = (aux + 1 + i) % 4294967296
                sack_item:add(f.ack_sacked, tvb(32, 8), psn):set_generated()
                sacked[#sacked + 1] = psn
            end
        end
        if #sacked > 0 then
            sack_item:add_proto_expert_info(e.sack, string.format("Selective acknowledgement: %d PSNs after %d",
                #sacked, aux))
            -- Runs of PSNs as first-last: a bitmap of 64 fits on one line.
            local runs = {}
            local first, last = sacked[1], sacked[1]
            for i = 2, #sacked + 1 do
                local p = sacked[i]
                if p ~= nil and p == (last + 1) % 4294967296 then
                    last = p
                else
                    runs[#runs + 1] = first == last and tostring(first) or (first .. "-" .. last)
                    first, last = p, p
                end
            end
            info[#info + 1] = string.format("cumulative %d SACK %s", aux, table.concat(runs, ","))
        else
            info[#info + 1] = string.format("cumulative %d", aux)
        end
    elseif code == 0x21 then
        tree:add_le(f.nak_psn, aux_range)
        local nak_code = tvb(32, 4):le_uint()
        local item = ext_tree:add_le(f.nak_code, tvb(32, 4))
        ext_tree:add_le(f.nak_delay, tvb(36, 4))
        local name = NAK_CODES[nak_code]
        if name == nil then
            item:add_proto_expert_info(e.bad_payload, string.format("NAK code %d: must be 1 to 4", nak_code))
            problems[#problems + 1] = "bad NAK code"
            name = "code " .. nak_code
        end
        item:add_proto_expert_info(e.nak, string.format("NAK of PSN %d: %s", aux, name))
        info[#info + 1] = string.format("PSN %d %s", aux, name)
        if nak_code == 1 then
            info[#info + 1] = string.format("retry after %d us", tvb(36, 4):le_uint())
        end
    elseif code >= 0x30 and code <= 0x34 then
        tree:add(f.aux, aux_range, aux)
        ext_tree:add_le(f.cm_id, tvb(32, 8))
        if code == 0x30 then
            ext_tree:add_le(f.cm_service, tvb(40, 8))
            ext_tree:add_le(f.cm_requester_domid, tvb(48, 4))
            ext_tree:add_le(f.cm_psn, tvb(52, 4))
            info[#info + 1] = string.format("id 0x%s service %s", tvb(32, 8):le_uint64():tohex(),
                tostring(tvb(40, 8):le_uint64()))
        elseif code == 0x31 then
            ext_tree:add_le(f.cm_listener_domid, tvb(40, 8))
            ext_tree:add_le(f.cm_pkey, tvb(48, 4))
            ext_tree:add_le(f.cm_psn, tvb(52, 4))
            info[#info + 1] = string.format("id 0x%s pkey 0x%04x", tvb(32, 8):le_uint64():tohex(),
                tvb(48, 4):le_uint())
        else
            ext_tree:add(f.cm_ext_reserved, tvb(40, 16))
            info[#info + 1] = string.format("id 0x%s", tvb(32, 8):le_uint64():tohex())
        end
    elseif code == 0x40 then
        tree:add(f.aux, aux_range, aux)
        ext_tree:add_le(f.migrate_id, tvb(32, 8))
        ext_tree:add_le(f.migrate_step, tvb(40, 2))
        ext_tree:add_le(f.migrate_offset, tvb(44, 4))
        ext_tree:add_le(f.migrate_total, tvb(48, 4))
        ext_tree:add_le(f.migrate_domid, tvb(52, 4))
        local step = tvb(40, 2):le_uint()
        info[#info + 1] = string.format("%s dom %d", MIGRATE_STEPS[step] or ("step " .. step), tvb(52, 4):le_uint())
    elseif code == 0x41 or code == 0x42 then
        tree:add(f.aux, aux_range, aux)
        ext_tree:add_le(f.moved_connection, tvb(32, 8))
        ext_tree:add_le(f.moved_node, tvb(40, 2))
        info[#info + 1] = string.format("to node %d", tvb(40, 2):le_uint())
    end
end

-- The payload of a CM frame, field by field; returns false when it does not add up.
local function dissect_cm_payload(code, tvb, tree, at, length, info)
    local p, stop = at, at + length
    local function need(n, what)
        if p + n > stop then
            tree:add_proto_expert_info(e.bad_payload, string.format("CM payload ends inside %s", what))
            return false
        end
        return true
    end
    if code == 0x30 then
        if not need(2, "the counts") then
            return
        end
        local count = tvb(p, 1):uint()
        local item = tree:add(f.cm_partition_count, tvb(p, 1))
        if count > 8 then
            item:add_proto_expert_info(e.bad_payload, string.format("%d partition keys offered, at most 8", count))
        end
        local private = tvb(p + 1, 1):uint()
        item = tree:add(f.cm_private_length, tvb(p + 1, 1))
        if private > 56 then
            item:add_proto_expert_info(e.bad_payload, string.format("%d bytes of private data, at most 56", private))
        end
        p = p + 2
        if not need(2 * count, "the partition keys") then
            return
        end
        for _ = 1, count do
            tree:add_le(f.cm_partition, tvb(p, 2))
            p = p + 2
        end
        if not need(private, "the private data") then
            return
        end
        if private > 0 then
            tree:add(f.cm_private, tvb(p, private))
        end
        p = p + private
    elseif code == 0x31 then
        if not need(1, "the private data length") then
            return
        end
        local private = tvb(p, 1):uint()
        local item = tree:add(f.cm_private_length, tvb(p, 1))
        if private > 56 then
            item:add_proto_expert_info(e.bad_payload, string.format("%d bytes of private data, at most 56", private))
        end
        p = p + 1
        if not need(private, "the private data") then
            return
        end
        if private > 0 then
            tree:add(f.cm_private, tvb(p, private))
        end
        p = p + private
    elseif code == 0x32 then
        if length > 0 then
            tree:add(f.cm_reason, tvb(p, length), tvb(p, length):string(ENC_UTF_8))
            info[#info + 1] = '"' .. tvb(p, length):string(ENC_UTF_8) .. '"'
        end
        if length > 200 then
            tree:add_proto_expert_info(e.bad_payload, string.format("Reason of %d bytes, at most 200", length))
        end
        return
    else
        if length > 0 then
            tree:add(f.payload, tvb(p, length))
        end
        return
    end
    -- CM_REQUEST, CM_REPLY: the domain's name, absent from a node of an earlier revision.
    if p < stop then
        local n = tvb(p, 1):uint()
        tree:add(f.cm_name_length, tvb(p, 1))
        p = p + 1
        if not need(n, "the domain name") then
            return
        end
        if n > 0 then
            local name = tvb(p, n):string(ENC_UTF_8)
            tree:add(f.cm_name, tvb(p, n), name)
            info[#info + 1] = "domain " .. name
        end
        p = p + n
        if p < stop then
            tree:add_proto_expert_info(e.bad_payload, string.format("%d bytes after the domain name", stop - p))
        end
    end
end

function vmrdma.dissector(tvb, pinfo, root)
    local captured = tvb:len()
    pinfo.cols.protocol = "vmrdma"
    local tree = root:add(vmrdma, tvb())
    if captured < BASE_LENGTH then
        tree:add_proto_expert_info(e.short, string.format("Frame of %d bytes, shorter than the 32-byte base header",
            captured))
        pinfo.cols.info = string.format("[Malformed: %d bytes, shorter than the base header]", captured)
        return captured
    end

    local version = tvb(0, 1):uint()
    local code = tvb(1, 1):uint()
    local flags = tvb(2, 2):le_uint()
    local src_node, dst_node = tvb(4, 2):le_uint(), tvb(6, 2):le_uint()
    local payload_length = tvb(10, 2):le_uint()
    local dst_qpn, src_qpn = tvb(12, 4):le_uint(), tvb(16, 4):le_uint()
    local psn = tvb(20, 4):le_uint()
    local t = TYPES[code]
    local type_name = t and t.name or string.format("unknown type 0x%02x", code)
    local info = {}
    local problems = {}

    local version_item = tree:add(f.version, tvb(0, 1))
    if version ~= VERSION and code ~= 0x01 and code ~= 0x02 then
        version_item:add_proto_expert_info(e.bad_version, string.format(
            "Version %d: receivers of version %d drop every frame but HELLO and HELLO_REPLY of another version",
            version, VERSION))
        problems[#problems + 1] = "version " .. version
    end
    local type_item = tree:add(f.type, tvb(1, 1))
    if t == nil then
        type_item:add_proto_expert_info(e.unknown_type, string.format("Unknown frame type 0x%02x", code))
        problems[#problems + 1] = "unknown type"
    end
    local flags_item = tree:add_le(f.flags, tvb(2, 2))
    flags_item:append_text(" (" .. flag_text(flags) .. ")")
    flags_item:add_le(f.flag_first, tvb(2, 2))
    flags_item:add_le(f.flag_last, tvb(2, 2))
    flags_item:add_le(f.flag_imm, tvb(2, 2))
    flags_item:add_le(f.flag_ack_request, tvb(2, 2))
    flags_item:add_le(f.flag_discovery, tvb(2, 2))
    flags_item:add_le(f.flag_auth, tvb(2, 2))
    flags_item:add_le(f.flag_pressure, tvb(2, 2))
    flags_item:add_le(f.flag_reserved, tvb(2, 2))
    tree:add_le(f.src_node, tvb(4, 2))
    local dst_item = tree:add_le(f.dst_node, tvb(6, 2))
    if dst_node == 0xFFFF then
        dst_item:append_text(" (any: discovery HELLO)")
    end
    tree:add_le(f.node, tvb(4, 2)):set_hidden()
    tree:add_le(f.node, tvb(6, 2)):set_hidden()
    tree:add_le(f.pkey, tvb(8, 2))
    tree:add_le(f.payload_length, tvb(10, 2))
    tree:add_le(f.dst_qpn, tvb(12, 4))
    tree:add_le(f.src_qpn, tvb(16, 4))
    tree:add_le(f.psn, tvb(20, 4))
    local crc_item = tree:add_le(f.header_crc, tvb(24, 4))

    local authenticated = band(flags, FLAG_AUTH) ~= 0
    local consumed = captured
    local header_length
    if t ~= nil then
        header_length = BASE_LENGTH + t.ext
        local trailer = authenticated and AUTH_TRAILER or (payload_length > 0 and 4 or 0)
        local length = header_length + payload_length + trailer
        tree:add(f.header_length, header_length):set_generated()
        tree:add(f.frame_length, length):set_generated()
        if captured < length then
            local reported = tvb:reported_len()
            if reported < length then
                tree:add_proto_expert_info(e.bad_length, string.format(
                    "Frame of %d bytes; its header (%d), payload length (%d) and %s (%d) need %d", reported,
                    header_length, payload_length, authenticated and "authentication trailer" or "payload CRC",
                    trailer, length))
                problems[#problems + 1] = "too short"
            else
                -- Cut by the capture's snapshot length, not on the wire: nothing wrong with the frame.
                problems[#problems + 1] = string.format("capture cut at %d of %d bytes", captured, reported)
            end
            if captured >= header_length then
                -- The header can still be checked and shown.
                local computed = header_crc(tvb, header_length)
                tree:add(f.header_crc_computed, computed):set_generated()
                local good = computed == tvb(24, 4):le_uint()
                tree:add(f.header_crc_status, good and 1 or 0):set_generated()
                if not good then
                    crc_item:add_proto_expert_info(e.header_crc, string.format(
                        "Header CRC32C 0x%08x, computed 0x%08x", tvb(24, 4):le_uint(), computed))
                    problems[#problems + 1] = "bad header CRC"
                end
                local ext_tree = tree:add(vmrdma, tvb(BASE_LENGTH, t.ext), t.name .. " extension")
                dissect_extension(code, tvb, tree, ext_tree, info, problems, tvb(28, 4))
            else
                tree:add(f.header_crc_status, 2):set_generated()
                tree:add(f.aux, tvb(28, 4), tvb(28, 4):le_uint())
            end
        else
            consumed = length
            local computed = header_crc(tvb, header_length)
            local good = computed == tvb(24, 4):le_uint()
            tree:add(f.header_crc_computed, computed):set_generated()
            tree:add(f.header_crc_status, good and 1 or 0):set_generated()
            if good then
                crc_item:append_text(" [correct]")
            else
                crc_item:append_text(string.format(" [incorrect, should be 0x%08x]", computed))
                crc_item:add_proto_expert_info(e.header_crc, string.format("Header CRC32C 0x%08x, computed 0x%08x",
                    tvb(24, 4):le_uint(), computed))
                problems[#problems + 1] = "bad header CRC"
            end
            local ext_tree = tree:add(vmrdma, tvb(BASE_LENGTH, t.ext), t.name .. " extension")
            dissect_extension(code, tvb, tree, ext_tree, info, problems, tvb(28, 4))

            local payload_tree = tree
            if payload_length > 0 then
                payload_tree = tree:add(vmrdma, tvb(header_length, payload_length),
                    string.format("Payload (%d bytes)", payload_length))
            end
            if (code == 0x01 or code == 0x02) then
                if payload_length == 8 then
                    payload_tree:add_le(f.hello_challenge, tvb(header_length, 8))
                elseif payload_length > 0 then
                    payload_tree:add(f.payload, tvb(header_length, payload_length))
                end
                if authenticated and payload_length ~= 8 then
                    payload_tree:add_proto_expert_info(e.bad_payload, string.format(
                        "An authenticated %s carries an 8-byte challenge, not %d bytes", t.name, payload_length))
                end
            elseif code >= 0x30 and code <= 0x34 then
                dissect_cm_payload(code, tvb, payload_tree, header_length, payload_length, info)
            elseif payload_length > 0 then
                payload_tree:add(f.payload, tvb(header_length, payload_length))
            end

            local trailer_at = header_length + payload_length
            if authenticated then
                local auth_tree = tree:add(f.auth, tvb(trailer_at, AUTH_TRAILER))
                auth_tree:add_le(f.auth_epoch, tvb(trailer_at, 8))
                auth_tree:add_le(f.auth_counter, tvb(trailer_at + 8, 8))
                auth_tree:add(f.auth_tag, tvb(trailer_at + 16, 16))
                info[#info + 1] = "ctr " .. tostring(tvb(trailer_at + 8, 8):le_uint64())
            elseif payload_length > 0 then
                local payload_crc_item = tree:add_le(f.payload_crc, tvb(trailer_at, 4))
                if vmrdma.prefs.check_payload_crc then
                    local pc = crc32c_final(crc32c_update(0xFFFFFFFF, tvb:raw(header_length, payload_length)))
                    local pgood = pc == tvb(trailer_at, 4):le_uint()
                    tree:add(f.payload_crc_computed, pc):set_generated()
                    tree:add(f.payload_crc_status, pgood and 1 or 0):set_generated()
                    if pgood then
                        payload_crc_item:append_text(" [correct]")
                    else
                        payload_crc_item:append_text(string.format(" [incorrect, should be 0x%08x]", pc))
                        payload_crc_item:add_proto_expert_info(e.payload_crc, string.format(
                            "Payload CRC32C 0x%08x, computed 0x%08x", tvb(trailer_at, 4):le_uint(), pc))
                        problems[#problems + 1] = "bad payload CRC"
                    end
                else
                    tree:add(f.payload_crc_status, 2):set_generated()
                end
            end
            if captured > length then
                local trailing = tree:add(f.trailing, tvb(length, captured - length))
                -- Ethernet pads frames to 60 bytes: only other bytes are worth a note.
                local pad = tvb:raw(length, captured - length)
                if pad:find("[^%z]") ~= nil then
                    trailing:add_proto_expert_info(e.trailing)
                end
            end
        end
    else
        tree:add(f.header_crc_status, 2):set_generated()
        tree:add(f.aux, tvb(28, 4), tvb(28, 4):le_uint())
    end

    -- Conversations.
    local src_qp, dst_qp = qp_name(src_node, src_qpn), qp_name(dst_node, dst_qpn)
    tree:add(f.src_qp, src_qp):set_generated()
    tree:add(f.dst_qp, dst_qp):set_generated()
    tree:add(f.qp, src_qp):set_hidden()
    tree:add(f.qp, dst_qp):set_hidden()
    local conv
    if src_qpn ~= 0 or dst_qpn ~= 0 then
        local id = nil
        if t ~= nil and code >= 0x30 and code <= 0x34 and captured >= 40 then
            id = tostring(tvb(32, 8):le_uint64())
        end
        if src_qpn ~= 0 and dst_qpn ~= 0 then
            conv = conversation(src_qp, dst_qp)
            if id ~= nil then
                by_connection[src_node .. "/" .. dst_node .. "/" .. id] = conv
                by_connection[dst_node .. "/" .. src_node .. "/" .. id] = conv
            end
        elseif id ~= nil and by_connection[src_node .. "/" .. dst_node .. "/" .. id] ~= nil then
            conv = by_connection[src_node .. "/" .. dst_node .. "/" .. id]
        else
            conv = conversation(src_qp, dst_qp)
        end
        tree:add(f.conv, conv):set_generated()
        tree:add(f.stream, stream_of(conv)):set_generated()
    end

    local header = string.format("%s %s > %s", type_name, src_qp, dst_qp)
    if code == 0x01 or code == 0x02 or src_qpn == 0 and dst_qpn == 0 then
        header = string.format("%s node %d > %s", type_name, src_node,
            dst_node == 0xFFFF and "any" or tostring(dst_node))
    end
    local text = header
    if code >= 0x10 and code <= 0x13 then
        text = text .. " PSN " .. psn
    end
    if payload_length > 0 then
        text = text .. " len " .. payload_length
    end
    if flags ~= 0 then
        text = text .. " [" .. flag_text(flags) .. "]"
    end
    if #info > 0 then
        text = text .. " " .. table.concat(info, " ")
    end
    if #problems > 0 then
        text = text .. " [" .. table.concat(problems, ", ") .. "]"
    end
    pinfo.cols.info = text
    tree:append_text(string.format(", %s, node %d > %d", type_name, src_node, dst_node))
    return consumed
end

-- ------------------------------------------------------------------------------------------------ registration

local ethertype_table = DissectorTable.get("ethertype")
local udp_table = DissectorTable.get("udp.port")
local registered_ethertype = nil
local registered_port = nil

local function register()
    local ethertype = vmrdma.prefs.ethertype
    if registered_ethertype ~= ethertype then
        if registered_ethertype ~= nil then
            ethertype_table:remove(registered_ethertype, vmrdma)
        end
        ethertype_table:add(ethertype, vmrdma)
        registered_ethertype = ethertype
    end
    local port = vmrdma.prefs.udp_port
    if registered_port ~= port then
        if registered_port ~= nil and registered_port ~= 0 then
            udp_table:remove(registered_port, vmrdma)
        end
        if port ~= 0 then
            udp_table:add(port, vmrdma)
        end
        registered_port = port
    end
end

function vmrdma.prefs_changed()
    register()
end

register()
udp_table:add_for_decode_as(vmrdma)

-- ------------------------------------------------------------------------------------------------ statistics

-- tshark -z vmrdma,qp (Wireshark: Statistics > vmrdma queue pairs): frames and bytes per queue-pair conversation
-- and direction, and the frame types seen.
local conv_field = Field.new("vmrdma.conv")
local src_qp_field = Field.new("vmrdma.src_qp")
local type_field = Field.new("vmrdma.type")
local length_field = Field.new("vmrdma.payload_length")

local function qp_statistics(print_line, clear)
    local rows = {}
    local order = {}
    local listener = Listener.new(nil, "vmrdma")
    function listener.packet()
        local conv = conv_field()
        if conv == nil then
            return
        end
        local key = conv.value
        local row = rows[key]
        if row == nil then
            row = { directions = {}, types = {} }
            rows[key] = row
            order[#order + 1] = key
        end
        local src = src_qp_field().value
        local d = row.directions[src]
        if d == nil then
            d = { frames = 0, bytes = 0 }
            row.directions[src] = d
        end
        d.frames = d.frames + 1
        d.bytes = d.bytes + length_field().value
        local name = TYPE_NAMES[type_field().value] or "unknown"
        row.types[name] = (row.types[name] or 0) + 1
    end
    function listener.draw()
        if clear ~= nil then
            clear()
        end
        print_line("vmrdma queue-pair conversations")
        print_line(string.format("%-36s %-12s %8s %12s", "conversation", "from", "frames", "payload bytes"))
        for _, key in ipairs(order) do
            local row = rows[key]
            local froms = {}
            for src in pairs(row.directions) do
                froms[#froms + 1] = src
            end
            table.sort(froms)
            for _, src in ipairs(froms) do
                local d = row.directions[src]
                print_line(string.format("%-36s %-12s %8d %12d", key, src, d.frames, d.bytes))
            end
            local types = {}
            for name, count in pairs(row.types) do
                types[#types + 1] = name .. " " .. count
            end
            table.sort(types)
            print_line("    types: " .. table.concat(types, ", "))
        end
    end
    function listener.reset()
        rows = {}
        order = {}
    end
    return listener
end

if register_stat_cmd_arg ~= nil then
    register_stat_cmd_arg("vmrdma,qp", function()
        qp_statistics(print)
    end)
end

if gui_enabled ~= nil and gui_enabled() then
    register_menu("vmrdma queue pairs", function()
        local window = TextWindow.new("vmrdma queue pairs")
        local listener = qp_statistics(function(line)
            window:append(line .. "\n")
        end, function()
            window:clear()
        end)
        window:set_atclose(function()
            listener:remove()
        end)
        retap_packets()
    end, MENU_STAT_GENERIC)
end
