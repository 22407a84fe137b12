// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IRestrictedToken} from "./interfaces/IRestrictedToken.sol";

/**
 * @title Clearline Adjudicator
 * @notice Holds the tokens of two-party, multi-asset state channels and enforces the latest
 * co-signed off-chain state: open, deposit, withdraw without closing (a checkpoint), cooperative
 * close, unilateral close, challenge, settle, hashlocked transfers, and claimable payouts.
 * The canonical encoding of parameters and states is specified in docs/protocol.md.
 * @dev Storage per channel: one packed record, the hash of the registered outcome while disputed,
 * and per asset one slot of available balances and one of paid withdrawals. Disputes therefore
 * cost the same gas whatever the number of off-chain updates.
 */
contract Adjudicator is EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;
    using SafeCast for int256;

    /// @notice Fixed parameters of a channel; their hash (with chain id and this address) is its id.
    struct Params {
        address[2] participants;
        address[] assets;
        uint64 challengePeriod;
        bytes32 salt;
    }

    /// @notice How one asset is split: `net` moved from participant 0 to 1, cumulative withdrawals.
    struct Allocation {
        address token;
        int256 net;
        uint256 withdrawn0;
        uint256 withdrawn1;
    }

    /// @notice An off-chain state, signed by both participants as EIP-712 typed data.
    struct State {
        bytes32 channelId;
        uint64 nonce;
        Allocation[] allocations;
        bytes32 locksRoot;
        bool isFinal;
    }

    /// @notice A hashlocked conditional transfer of `amount` of asset `assetIndex` from `sender`.
    struct Lock {
        uint8 assetIndex;
        uint8 sender;
        uint128 amount;
        bytes32 hashlock;
        uint64 expiry;
    }

    /// @notice Where a channel is in its life.
    enum Phase {
        None,
        Open,
        Disputed,
        Concluded
    }

    struct ChannelRecord {
        uint64 nonce; // registered nonce while disputed, else the last withdrawal checkpoint
        uint64 deadline; // end of the challenge period while disputed
        Phase phase;
    }

    /// @dev Signed: a participant may withdraw, without closing, funds it received off chain, so what
    /// the adjudicator holds "for" it can fall below zero while the net covers it.
    struct Holding {
        int128 available0; // deposits(0) - paid(0)
        int128 available1; // deposits(1) - paid(1)
    }

    struct Paid {
        uint128 paid0; // withdrawn by participant 0 without closing
        uint128 paid1;
    }

    /// @notice The most assets a channel may hold.
    uint256 public constant MAX_ASSETS = 4;
    /// @notice The most locks a state may carry (bounds the gas of a dispute; enforced off chain and by
    /// `locksRootOf`, while `settle` accepts any co-signed list so that no agreed state is unsettleable).
    uint256 public constant MAX_LOCKS = 8;
    /// @notice Longest a settlement waits for a lock after the challenge period: a lock neither revealed
    /// nor expired by then counts as expired (honest locks expire within 30 days of being added).
    uint256 public constant MAX_LOCK_WAIT = 30 days;
    /// @notice Shortest allowed challenge period, in seconds.
    uint64 public constant MIN_CHALLENGE_PERIOD = 60;
    /// @notice Longest allowed challenge period, in seconds.
    uint64 public constant MAX_CHALLENGE_PERIOD = 30 days;
    /// @notice Gas given to each pushed payout; a token that needs more leaves the amount claimable.
    uint256 public constant PAYOUT_GAS_LIMIT = 300_000;

    bytes32 private constant ALLOCATION_TYPEHASH =
        keccak256("Allocation(address token,int256 net,uint256 withdrawn0,uint256 withdrawn1)");
    bytes32 private constant STATE_TYPEHASH =
        keccak256(
            "State(bytes32 channelId,uint64 nonce,Allocation[] allocations,bytes32 locksRoot,bool isFinal)"
            "Allocation(address token,int256 net,uint256 withdrawn0,uint256 withdrawn1)"
        );

    mapping(bytes32 channelId => ChannelRecord) private _channels;
    mapping(bytes32 channelId => bytes32) private _registeredOutcome;
    mapping(bytes32 channelId => mapping(address token => Holding)) private _holdings;
    mapping(bytes32 channelId => mapping(address token => Paid)) private _paid;
    mapping(address token => mapping(address holder => uint256)) private _claimable;
    mapping(bytes32 hashlock => uint256) private _secretRevealedAt;

    /// @notice A channel was opened with these parameters.
    event ChannelOpened(
        bytes32 indexed channelId,
        address indexed participant0,
        address indexed participant1,
        address[] assets,
        uint64 challengePeriod,
        bytes32 salt
    );
    /// @notice `participant` deposited `amount` of `token` into the channel.
    event Deposited(bytes32 indexed channelId, address indexed token, address indexed participant, uint256 amount);
    /// @notice A co-signed state paid out withdrawals and became the channel's checkpoint.
    event Withdrawn(bytes32 indexed channelId, uint64 nonce);
    /// @notice A state (nonce 0 with zero nets: no state) was registered; it settles at `deadline`.
    event StateRegistered(
        bytes32 indexed channelId,
        uint64 nonce,
        uint64 deadline,
        int256[] nets,
        bytes32 locksRoot
    );
    /// @notice The channel was closed and paid out according to the state with `nonce`.
    event ChannelConcluded(bytes32 indexed channelId, uint64 nonce);
    /// @notice A pushed payout failed; `amount` became claimable by `holder`.
    event PayoutDeferred(bytes32 indexed channelId, address indexed token, address indexed holder, uint256 amount);
    /// @notice `holder` claimed its claimable balance of `token`.
    event Claimed(address indexed token, address indexed holder, uint256 amount);
    /// @notice The token's controller moved a frozen holder's claimable balance to `recipient`.
    event ClaimableRecovered(
        address indexed token,
        address indexed holder,
        address indexed recipient,
        uint256 amount,
        address controller
    );
    /// @notice The preimage of `hashlock` was revealed at this block's time.
    event SecretRevealed(bytes32 indexed hashlock, bytes32 secret);

    /// @notice The participants are zero, equal, or the caller is not one of them.
    error InvalidParticipants(address participant0, address participant1);
    /// @notice `account` is not a participant of the channel.
    error NotParticipant(address account);
    /// @notice The asset list is empty, too long, has a zero address or a duplicate.
    error InvalidAssets();
    /// @notice The challenge period is outside the allowed range.
    error InvalidChallengePeriod(uint64 challengePeriod);
    /// @notice The channel is not in a phase that allows this call.
    error WrongPhase(bytes32 channelId, Phase phase);
    /// @notice The asset index is out of range.
    error InvalidAssetIndex(uint256 assetIndex);
    /// @notice A deposit of zero.
    error ZeroAmount();
    /// @notice The state belongs to another channel (or another chain or adjudicator).
    error WrongChannel(bytes32 expected, bytes32 actual);
    /// @notice The state's allocations do not match the channel's assets, or exceed their bounds.
    error MalformedState();
    /// @notice The signature of participant `participantIndex` is missing, malleable or not theirs.
    error InvalidSignature(uint256 participantIndex);
    /// @notice The state is not newer than what the channel already has.
    error StaleNonce(uint64 known, uint64 offered);
    /// @notice A final state is required here.
    error NotFinal();
    /// @notice A final state cannot be used here, or carries locks.
    error UnexpectedFinal();
    /// @notice The challenge period ended at `deadline`.
    error ChallengePeriodOver(uint64 deadline);
    /// @notice The challenge period has not ended yet.
    error ChallengePeriodNotOver(uint64 deadline);
    /// @notice The nets or locks given do not match the registered state.
    error OutcomeMismatch();
    /// @notice Too many locks.
    error TooManyLocks(uint256 count);
    /// @notice The lock is neither revealed nor expired (nor waited for `MAX_LOCK_WAIT`).
    error LockUnresolved(bytes32 hashlock, uint64 expiry);
    /// @notice A state lowers a cumulative withdrawal.
    error WithdrawalDecreased(address token, uint256 participantIndex);
    /// @notice A withdrawal exceeds what the participant holds in the channel.
    error WithdrawalExceedsBalance(address token, uint256 participantIndex);
    /// @notice Closing without a state is impossible after a withdrawal checkpoint.
    error CheckpointExists(uint64 nonce);
    /// @notice Nothing to claim or recover.
    error NothingClaimable(address token, address holder);
    /// @notice The caller is not the token's controller.
    error NotController(address token, address account);
    /// @notice Recovery applies only to a frozen holder.
    error HolderNotFrozen(address token, address holder);

    constructor() EIP712("Clearline Adjudicator", "1") {}

    // ---------------------------------------------------------------------------------------
    // Opening and funding
    // ---------------------------------------------------------------------------------------

    /**
     * @notice Opens a channel and optionally makes the caller's first deposit in the same transaction.
     * @param params The channel's fixed parameters; the caller must be a participant.
     * @param assetIndex Which asset the first deposit is in (ignored when `amount` is 0).
     * @param amount The first deposit (0 for none); the caller must have approved it.
     * @return channelId The new channel's id.
     */
    function open(
        Params calldata params,
        uint256 assetIndex,
        uint256 amount
    ) external nonReentrant returns (bytes32 channelId) {
        _validateParams(params);
        uint256 participantIndex = _participantIndex(params, msg.sender);
        channelId = channelIdOf(params);
        ChannelRecord storage record = _channels[channelId];
        if (record.phase != Phase.None) revert WrongPhase(channelId, record.phase);
        record.phase = Phase.Open;
        emit ChannelOpened(
            channelId,
            params.participants[0],
            params.participants[1],
            params.assets,
            params.challengePeriod,
            params.salt
        );
        if (amount != 0) _deposit(channelId, params, participantIndex, assetIndex, amount);
    }

    /**
     * @notice Deposits `amount` of asset `assetIndex` for the caller; allowed until the channel concludes.
     * @dev A deposit made after the last signed state is simply credited to its depositor.
     */
    function deposit(Params calldata params, uint256 assetIndex, uint256 amount) external nonReentrant {
        bytes32 channelId = channelIdOf(params);
        Phase phase = _channels[channelId].phase;
        if (phase != Phase.Open && phase != Phase.Disputed) revert WrongPhase(channelId, phase);
        if (amount == 0) revert ZeroAmount();
        _deposit(channelId, params, _participantIndex(params, msg.sender), assetIndex, amount);
    }

    // ---------------------------------------------------------------------------------------
    // Withdrawing and closing with co-signed states
    // ---------------------------------------------------------------------------------------

    /**
     * @notice Pays each participant `withdrawnX - paidX` per asset from a co-signed state, without
     * closing. The state becomes a checkpoint: no state with a lower or equal nonce can be
     * registered afterwards (other than this one).
     */
    function withdraw(
        Params calldata params,
        State calldata state,
        bytes calldata signature0,
        bytes calldata signature1
    ) external nonReentrant {
        bytes32 channelId = _verifiedState(params, state, signature0, signature1);
        ChannelRecord storage record = _channels[channelId];
        if (record.phase != Phase.Open) revert WrongPhase(channelId, record.phase);
        if (state.isFinal) revert UnexpectedFinal();
        if (state.nonce <= record.nonce) revert StaleNonce(record.nonce, state.nonce);
        record.nonce = state.nonce;

        uint256 assetCount = params.assets.length;
        uint256[] memory payout0 = new uint256[](assetCount);
        uint256[] memory payout1 = new uint256[](assetCount);
        for (uint256 i = 0; i < assetCount; ++i) {
            (payout0[i], payout1[i]) = _recordWithdrawal(channelId, state.allocations[i]);
        }
        emit Withdrawn(channelId, state.nonce);
        for (uint256 i = 0; i < assetCount; ++i) {
            _pay(channelId, params.assets[i], params.participants[0], payout0[i]);
            _pay(channelId, params.assets[i], params.participants[1], payout1[i]);
        }
    }

    /**
     * @notice Closes the channel at once with a co-signed final state and pays both participants.
     * @dev Allowed while open or disputed: no state can follow a final one.
     */
    function closeCooperatively(
        Params calldata params,
        State calldata state,
        bytes calldata signature0,
        bytes calldata signature1
    ) external nonReentrant {
        bytes32 channelId = _verifiedState(params, state, signature0, signature1);
        if (!state.isFinal) revert NotFinal();
        ChannelRecord storage record = _channels[channelId];
        if (record.phase != Phase.Open && record.phase != Phase.Disputed) revert WrongPhase(channelId, record.phase);
        if (state.nonce <= record.nonce) revert StaleNonce(record.nonce, state.nonce);
        delete _registeredOutcome[channelId];
        _conclude(channelId, params, state.nonce, _netsOf(state), new int256[](params.assets.length));
    }

    /**
     * @notice Starts a dispute with a co-signed state; anyone may submit it. A final state
     * concludes the channel at once; any other starts the challenge period.
     */
    function forceClose(
        Params calldata params,
        State calldata state,
        bytes calldata signature0,
        bytes calldata signature1
    ) external nonReentrant {
        bytes32 channelId = _verifiedState(params, state, signature0, signature1);
        ChannelRecord storage record = _channels[channelId];
        if (record.phase != Phase.Open) revert WrongPhase(channelId, record.phase);
        // The checkpointed state itself may be registered; anything older may not.
        if (state.nonce < record.nonce) revert StaleNonce(record.nonce, state.nonce);
        _register(channelId, params, record, state);
    }

    /**
     * @notice Starts a dispute without any signed state: every participant gets back what it holds
     * in the channel. Only a participant may do this, and only before any withdrawal checkpoint, so
     * funds are never stuck when the counterparty vanishes before signing anything.
     */
    function forceCloseWithoutState(Params calldata params) external nonReentrant {
        _participantIndex(params, msg.sender);
        bytes32 channelId = channelIdOf(params);
        ChannelRecord storage record = _channels[channelId];
        if (record.phase != Phase.Open) revert WrongPhase(channelId, record.phase);
        if (record.nonce != 0) revert CheckpointExists(record.nonce);
        int256[] memory nets = new int256[](params.assets.length);
        uint64 deadline = uint64(block.timestamp) + params.challengePeriod;
        record.deadline = deadline;
        record.phase = Phase.Disputed;
        _registeredOutcome[channelId] = _outcomeHash(nets, bytes32(0));
        emit StateRegistered(channelId, 0, deadline, nets, bytes32(0));
    }

    /**
     * @notice Answers a dispute with a newer co-signed state before the deadline. The deadline
     * moves to at least `now + challengePeriod`, so the other side always has a full period to
     * answer the latest registration (see docs/protocol.md, "Challenge-window rule").
     */
    function challenge(
        Params calldata params,
        State calldata state,
        bytes calldata signature0,
        bytes calldata signature1
    ) external nonReentrant {
        bytes32 channelId = _verifiedState(params, state, signature0, signature1);
        ChannelRecord storage record = _channels[channelId];
        if (record.phase != Phase.Disputed) revert WrongPhase(channelId, record.phase);
        if (block.timestamp >= record.deadline) revert ChallengePeriodOver(record.deadline);
        if (state.nonce <= record.nonce) revert StaleNonce(record.nonce, state.nonce);
        _register(channelId, params, record, state);
    }

    /**
     * @notice Pays out a disputed channel once its challenge period is over and every lock of the
     * registered state is revealed or expired.
     * @param nets The registered state's nets, one per asset (from the StateRegistered event).
     * @param locks The registered state's locks (empty when its locksRoot is zero).
     */
    function settle(
        Params calldata params,
        int256[] calldata nets,
        Lock[] calldata locks
    ) external nonReentrant {
        bytes32 channelId = channelIdOf(params);
        ChannelRecord storage record = _channels[channelId];
        if (record.phase != Phase.Disputed) revert WrongPhase(channelId, record.phase);
        if (block.timestamp < record.deadline) revert ChallengePeriodNotOver(record.deadline);
        if (nets.length != params.assets.length) revert OutcomeMismatch();
        if (_outcomeHash(nets, _locksRoot(locks)) != _registeredOutcome[channelId]) revert OutcomeMismatch();
        delete _registeredOutcome[channelId];
        int256[] memory shifts = _resolveLocks(params.assets.length, locks, record.deadline);
        _conclude(channelId, params, record.nonce, nets, shifts);
    }

    // ---------------------------------------------------------------------------------------
    // Hashlocks, claims, issuer recovery
    // ---------------------------------------------------------------------------------------

    /// @notice Records that the preimage of `keccak256(secret)` is known as of this block.
    function revealSecret(bytes32 secret) external {
        bytes32 hashlock = keccak256(abi.encode(secret));
        if (_secretRevealedAt[hashlock] != 0) return;
        _secretRevealedAt[hashlock] = block.timestamp;
        emit SecretRevealed(hashlock, secret);
    }

    /// @notice Pays the caller its claimable balance of `token` (left by a payout that reverted).
    function claim(address token) external nonReentrant {
        uint256 amount = _claimable[token][msg.sender];
        if (amount == 0) revert NothingClaimable(token, msg.sender);
        delete _claimable[token][msg.sender];
        emit Claimed(token, msg.sender, amount);
        IERC20(token).safeTransfer(msg.sender, amount);
    }

    /**
     * @notice Lets the token's controller move a frozen holder's claimable balance to a recovery
     * address: the issuer's legal powers reach into layer two.
     */
    function recoverClaimable(address token, address holder, address recipient) external nonReentrant {
        IRestrictedToken restricted = IRestrictedToken(token);
        if (!_isController(restricted, msg.sender)) revert NotController(token, msg.sender);
        if (!restricted.isFrozen(holder)) revert HolderNotFrozen(token, holder);
        uint256 amount = _claimable[token][holder];
        if (amount == 0) revert NothingClaimable(token, holder);
        delete _claimable[token][holder];
        emit ClaimableRecovered(token, holder, recipient, amount, msg.sender);
        IERC20(token).safeTransfer(recipient, amount);
    }

    // ---------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------

    /// @notice The id of a channel: its parameters bound to this chain and this adjudicator.
    function channelIdOf(Params calldata params) public view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(this), params));
    }

    /// @notice The EIP-712 digest that both participants sign for `state`.
    function stateDigest(State calldata state) public view returns (bytes32) {
        uint256 count = state.allocations.length;
        bytes32[] memory allocationHashes = new bytes32[](count);
        for (uint256 i = 0; i < count; ++i) {
            Allocation calldata a = state.allocations[i];
            allocationHashes[i] = keccak256(
                abi.encode(ALLOCATION_TYPEHASH, a.token, a.net, a.withdrawn0, a.withdrawn1)
            );
        }
        return
            _hashTypedDataV4(
                keccak256(
                    abi.encode(
                        STATE_TYPEHASH,
                        state.channelId,
                        state.nonce,
                        keccak256(abi.encodePacked(allocationHashes)),
                        state.locksRoot,
                        state.isFinal
                    )
                )
            );
    }

    /// @notice The commitment to a list of locks: zero for none, else `keccak256(abi.encode(locks))`.
    function locksRootOf(Lock[] calldata locks) public pure returns (bytes32) {
        if (locks.length > MAX_LOCKS) revert TooManyLocks(locks.length);
        return _locksRoot(locks);
    }

    /// @notice A channel's phase, its registered or checkpointed nonce, and its dispute deadline.
    function channel(bytes32 channelId) external view returns (Phase phase, uint64 nonce, uint64 deadline) {
        ChannelRecord storage record = _channels[channelId];
        return (record.phase, record.nonce, record.deadline);
    }

    /// @notice What the channel holds of `token` for each participant (deposits minus withdrawals;
    /// negative once a participant withdrew funds it received) and what each has withdrawn.
    function holdings(
        bytes32 channelId,
        address token
    ) external view returns (int256 available0, int256 available1, uint256 paid0, uint256 paid1) {
        Holding storage holding = _holdings[channelId][token];
        Paid storage paid = _paid[channelId][token];
        return (holding.available0, holding.available1, paid.paid0, paid.paid1);
    }

    /// @notice The claimable balance of `holder` in `token`.
    function claimableOf(address token, address holder) external view returns (uint256) {
        return _claimable[token][holder];
    }

    /// @notice When the preimage of `hashlock` was revealed (0 if never).
    function secretRevealedAt(bytes32 hashlock) external view returns (uint256) {
        return _secretRevealedAt[hashlock];
    }

    /// @notice The EIP-712 domain separator of this adjudicator.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---------------------------------------------------------------------------------------
    // Internals
    // ---------------------------------------------------------------------------------------

    function _validateParams(Params calldata params) private pure {
        address p0 = params.participants[0];
        address p1 = params.participants[1];
        if (p0 == address(0) || p1 == address(0) || p0 == p1) revert InvalidParticipants(p0, p1);
        uint256 assetCount = params.assets.length;
        if (assetCount == 0 || assetCount > MAX_ASSETS) revert InvalidAssets();
        for (uint256 i = 0; i < assetCount; ++i) {
            address asset = params.assets[i];
            if (asset == address(0)) revert InvalidAssets();
            for (uint256 j = 0; j < i; ++j) {
                if (params.assets[j] == asset) revert InvalidAssets();
            }
        }
        uint64 period = params.challengePeriod;
        if (period < MIN_CHALLENGE_PERIOD || period > MAX_CHALLENGE_PERIOD) revert InvalidChallengePeriod(period);
    }

    function _participantIndex(Params calldata params, address account) private pure returns (uint256) {
        if (account == params.participants[0]) return 0;
        if (account == params.participants[1]) return 1;
        revert NotParticipant(account);
    }

    function _deposit(
        bytes32 channelId,
        Params calldata params,
        uint256 participantIndex,
        uint256 assetIndex,
        uint256 amount
    ) private {
        if (assetIndex >= params.assets.length) revert InvalidAssetIndex(assetIndex);
        address token = params.assets[assetIndex];
        Holding storage holding = _holdings[channelId][token];
        int128 credit = amount.toInt256().toInt128();
        if (participantIndex == 0) holding.available0 += credit;
        else holding.available1 += credit;
        emit Deposited(channelId, token, msg.sender, amount);
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @dev Checks the state's shape against the channel and both EIP-712 signatures; returns the id.
    function _verifiedState(
        Params calldata params,
        State calldata state,
        bytes calldata signature0,
        bytes calldata signature1
    ) private view returns (bytes32 channelId) {
        channelId = channelIdOf(params);
        if (state.channelId != channelId) revert WrongChannel(channelId, state.channelId);
        uint256 assetCount = params.assets.length;
        if (state.allocations.length != assetCount) revert MalformedState();
        for (uint256 i = 0; i < assetCount; ++i) {
            Allocation calldata a = state.allocations[i];
            if (
                a.token != params.assets[i] ||
                a.net > type(int128).max ||
                a.net < type(int128).min ||
                a.withdrawn0 > type(uint128).max ||
                a.withdrawn1 > type(uint128).max
            ) revert MalformedState();
        }
        if (state.isFinal && state.locksRoot != bytes32(0)) revert UnexpectedFinal();
        bytes32 digest = stateDigest(state);
        _checkSignature(digest, signature0, params.participants[0], 0);
        _checkSignature(digest, signature1, params.participants[1], 1);
    }

    function _checkSignature(bytes32 digest, bytes calldata signature, address expected, uint256 index) private pure {
        // tryRecover rejects malleable (high-s) signatures and wrong lengths.
        (address signer, ECDSA.RecoverError error, ) = ECDSA.tryRecoverCalldata(digest, signature);
        if (error != ECDSA.RecoverError.NoError || signer != expected) revert InvalidSignature(index);
    }

    function _register(
        bytes32 channelId,
        Params calldata params,
        ChannelRecord storage record,
        State calldata state
    ) private {
        int256[] memory nets = _netsOf(state);
        if (state.isFinal) {
            delete _registeredOutcome[channelId];
            _conclude(channelId, params, state.nonce, nets, new int256[](params.assets.length));
            return;
        }
        uint64 answerBy = uint64(block.timestamp) + params.challengePeriod;
        uint64 deadline = record.deadline > answerBy ? record.deadline : answerBy;
        record.nonce = state.nonce;
        record.deadline = deadline;
        record.phase = Phase.Disputed;
        _registeredOutcome[channelId] = _outcomeHash(nets, state.locksRoot);
        emit StateRegistered(channelId, state.nonce, deadline, nets, state.locksRoot);
    }

    function _recordWithdrawal(
        bytes32 channelId,
        Allocation calldata allocation
    ) private returns (uint256 payout0, uint256 payout1) {
        Holding storage holding = _holdings[channelId][allocation.token];
        Paid storage paid = _paid[channelId][allocation.token];
        if (allocation.withdrawn0 < paid.paid0) revert WithdrawalDecreased(allocation.token, 0);
        if (allocation.withdrawn1 < paid.paid1) revert WithdrawalDecreased(allocation.token, 1);
        payout0 = allocation.withdrawn0 - paid.paid0;
        payout1 = allocation.withdrawn1 - paid.paid1;
        // What each participant keeps after the withdrawal must still cover the state's net: a
        // participant may withdraw what it received off chain, never more than its balance.
        int256 remaining0 = int256(holding.available0) - int256(payout0);
        int256 remaining1 = int256(holding.available1) - int256(payout1);
        if (remaining0 - allocation.net < 0) revert WithdrawalExceedsBalance(allocation.token, 0);
        if (remaining1 + allocation.net < 0) revert WithdrawalExceedsBalance(allocation.token, 1);
        holding.available0 = remaining0.toInt128();
        holding.available1 = remaining1.toInt128();
        paid.paid0 = uint128(allocation.withdrawn0);
        paid.paid1 = uint128(allocation.withdrawn1);
    }

    function _locksRoot(Lock[] calldata locks) private pure returns (bytes32) {
        return locks.length == 0 ? bytes32(0) : keccak256(abi.encode(locks));
    }

    /// @dev Net adjustments per asset from the locks: revealed in time → receiver, else → sender. A
    /// malformed lock (unknown asset or sender) moves nothing; a lock still open `MAX_LOCK_WAIT` after
    /// the deadline counts as expired. So every co-signed state settles, whatever its locks.
    function _resolveLocks(
        uint256 assetCount,
        Lock[] calldata locks,
        uint64 deadline
    ) private view returns (int256[] memory shifts) {
        shifts = new int256[](assetCount);
        for (uint256 i = 0; i < locks.length; ++i) {
            Lock calldata lock = locks[i];
            if (lock.assetIndex >= assetCount || lock.sender > 1) continue;
            uint256 revealedAt = _secretRevealedAt[lock.hashlock];
            if (revealedAt != 0 && revealedAt <= lock.expiry) {
                int256 amount = int256(uint256(lock.amount));
                shifts[lock.assetIndex] += lock.sender == 0 ? amount : -amount;
            } else if (block.timestamp <= lock.expiry && block.timestamp <= deadline + MAX_LOCK_WAIT) {
                revert LockUnresolved(lock.hashlock, lock.expiry);
            }
        }
    }

    /// @dev Marks the channel concluded, clears its balances, then pushes the payouts.
    function _conclude(
        bytes32 channelId,
        Params calldata params,
        uint64 nonce,
        int256[] memory nets,
        int256[] memory shifts
    ) private {
        ChannelRecord storage record = _channels[channelId];
        record.phase = Phase.Concluded;
        record.nonce = nonce;
        record.deadline = 0;
        uint256 assetCount = params.assets.length;
        uint256[] memory payout0 = new uint256[](assetCount);
        uint256[] memory payout1 = new uint256[](assetCount);
        for (uint256 i = 0; i < assetCount; ++i) {
            address token = params.assets[i];
            Holding storage holding = _holdings[channelId][token];
            (payout0[i], payout1[i]) = _split(holding.available0, holding.available1, nets[i] + shifts[i]);
            delete _holdings[channelId][token];
            delete _paid[channelId][token];
        }
        emit ChannelConcluded(channelId, nonce);
        for (uint256 i = 0; i < assetCount; ++i) {
            _pay(channelId, params.assets[i], params.participants[0], payout0[i]);
            _pay(channelId, params.assets[i], params.participants[1], payout1[i]);
        }
    }

    /// @dev payout0 = clamp(available0 - net, 0, total); payout1 = total - payout0. Never more than held.
    function _split(
        int256 available0,
        int256 available1,
        int256 net
    ) private pure returns (uint256 payout0, uint256 payout1) {
        // Withdrawals keep both sides covered, so what the channel holds is never negative.
        uint256 total = (available0 + available1).toUint256();
        int256 owed0 = available0 - net;
        if (owed0 <= 0) payout0 = 0;
        else if (uint256(owed0) >= total) payout0 = total;
        else payout0 = uint256(owed0);
        payout1 = total - payout0;
    }

    /// @dev Pushes a payout; if the token reverts or refuses, the amount becomes claimable instead.
    function _pay(bytes32 channelId, address token, address to, uint256 amount) private {
        if (amount == 0) return;
        if (!_tryTransfer(token, to, amount)) {
            _claimable[token][to] += amount;
            emit PayoutDeferred(channelId, token, to, amount);
        }
    }

    /// @dev ERC-20 transfer with a gas cap and at most 32 bytes of return data copied, so a hostile
    /// token can neither exhaust the settlement's gas nor bomb it with return data.
    function _tryTransfer(address token, address to, uint256 amount) private returns (bool ok) {
        bytes memory data = abi.encodeCall(IERC20.transfer, (to, amount));
        assembly ("memory-safe") {
            ok := call(PAYOUT_GAS_LIMIT, token, 0, add(data, 0x20), mload(data), 0, 0x20)
            switch returndatasize()
            case 0 {
                ok := and(ok, gt(extcodesize(token), 0))
            }
            default {
                ok := and(ok, and(gt(returndatasize(), 31), eq(mload(0), 1)))
            }
        }
    }

    function _isController(IRestrictedToken token, address account) private view returns (bool) {
        try token.isController(account) returns (bool result) {
            return result;
        } catch {
            return false;
        }
    }

    function _netsOf(State calldata state) private pure returns (int256[] memory nets) {
        uint256 count = state.allocations.length;
        nets = new int256[](count);
        for (uint256 i = 0; i < count; ++i) nets[i] = state.allocations[i].net;
    }

    function _outcomeHash(int256[] memory nets, bytes32 locksRoot) private pure returns (bytes32) {
        return keccak256(abi.encode(nets, locksRoot));
    }
}
