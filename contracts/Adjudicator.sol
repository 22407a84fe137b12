// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IAdjudicator} from "./interfaces/IAdjudicator.sol";
import {Holdings} from "./adjudicator/Holdings.sol";
import {Locks} from "./adjudicator/Locks.sol";
import {Payouts} from "./adjudicator/Payouts.sol";
import {StateHashing} from "./adjudicator/StateHashing.sol";
import {TokenCalls} from "./adjudicator/TokenCalls.sol";
import {Validation} from "./adjudicator/Validation.sol";
import {IRestrictedToken} from "./interfaces/IRestrictedToken.sol";

/**
 * @title Clearline Adjudicator
 * @author Clearline
 * @notice Holds the tokens of two-party, multi-asset state channels and enforces the latest
 * co-signed off-chain state: open, deposit, withdraw without closing (a checkpoint), cooperative
 * close, unilateral close, challenge, settle, hashlocked transfers, and claimable payouts. Every
 * movement of a restricted token between the participants is checked against the token's rules
 * as a transfer between them; a refused movement is held for the token's controller.
 * The canonical encoding of parameters and states is specified in docs/protocol.md.
 * @dev Storage per channel: one slot per asset (flags and what is held for each participant; asset
 * 0's slot also carries "opened" and "concluded") and one record slot (nonce, deadline and a
 * fingerprint of the registered outcome or of the checkpointed state's digest). What was withdrawn
 * is not stored: it is the checkpointed state's `withdrawn`, which the next withdrawal re-supplies.
 * Disputes cost the same whatever the number of updates.
 */
contract Adjudicator is IAdjudicator, EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;
    using SafeCast for int256;

    /// @dev While disputed: the registered nonce, the deadline and the outcome's fingerprint. While
    /// open: the last withdrawal checkpoint's nonce and its digest's fingerprint (zero: none), deadline 0.
    /// Deleted when the channel concludes.
    struct Record {
        uint64 nonce;
        uint40 deadline;
        bytes19 fingerprint;
    }

    /// @notice The most assets a channel may hold.
    uint256 public constant MAX_ASSETS = Validation.MAX_ASSETS;
    /// @notice The most locks a state may carry; checked when a state is withdrawn on or registered.
    uint256 public constant MAX_LOCKS = Locks.MAX_LOCKS;
    /// @notice Longest a settlement waits for a lock after the challenge period: a lock neither revealed
    /// nor expired by then counts as expired (honest locks expire within 30 days of being added).
    uint256 public constant MAX_LOCK_WAIT = Locks.MAX_LOCK_WAIT;
    /// @notice Shortest allowed challenge period, in seconds.
    uint64 public constant MIN_CHALLENGE_PERIOD = Validation.MIN_CHALLENGE_PERIOD;
    /// @notice Longest allowed challenge period, in seconds.
    uint64 public constant MAX_CHALLENGE_PERIOD = Validation.MAX_CHALLENGE_PERIOD;
    /// @notice Gas given to each pushed payout; a token that needs more leaves the amount claimable.
    uint256 public constant PAYOUT_GAS_LIMIT = TokenCalls.PAYOUT_GAS_LIMIT;
    /// @notice Gas given to a restricted token's compliance check; a token that needs more (or fails)
    /// has the movement held with code `CHECK_FAILED`.
    uint256 public constant CHECK_GAS_LIMIT = TokenCalls.CHECK_GAS_LIMIT;
    /// @notice The code of a held movement whose token did not answer the compliance check.
    uint8 public constant CHECK_FAILED = TokenCalls.CHECK_FAILED;
    /// @notice Gas given to the ERC-165 probe made at a token's first deposit into a channel.
    uint256 public constant PROBE_GAS_LIMIT = TokenCalls.PROBE_GAS_LIMIT;

    mapping(bytes32 channelId => mapping(uint256 assetIndex => Holdings.Holding)) private _holdings;
    mapping(bytes32 channelId => Record) private _records;
    mapping(address token => mapping(address holder => uint256)) private _claimable;
    mapping(address token => mapping(address from => mapping(address to => uint256))) private _held;
    mapping(bytes32 hashlock => uint256) private _secretRevealedAt;

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
        Validation.checkParams(params);
        uint256 participantIndex = Validation.participantIndex(params, msg.sender);
        channelId = StateHashing.channelId(params);
        Holdings.Holding storage first = _holdings[channelId][0];
        uint8 flags = first.flags;
        if (flags != 0) revert WrongPhase(channelId, _phaseOf(channelId, flags));
        first.flags = Holdings.OPENED;
        emit ChannelOpened(
            channelId,
            params.participants[0],
            params.participants[1],
            params.assets,
            params.challengePeriod,
            params.salt
        );
        if (amount == 0) return channelId;
        if (assetIndex >= params.assets.length) revert InvalidAssetIndex(assetIndex);
        Holdings.Holding storage slot = _holdings[channelId][assetIndex];
        _deposit(channelId, params, participantIndex, assetIndex, amount, slot, slot);
    }

    /**
     * @notice Deposits `amount` of asset `assetIndex` for the caller; allowed until the channel concludes.
     * A deposit made after the last signed state is simply credited to its depositor. The token must
     * deliver exactly `amount` (fee-on-transfer tokens are refused).
     * @param params The channel's parameters; the caller must be a participant.
     * @param assetIndex Which of the channel's assets.
     * @param amount How much; the caller must have approved it.
     */
    function deposit(Params calldata params, uint256 assetIndex, uint256 amount) external nonReentrant {
        bytes32 channelId = StateHashing.channelId(params);
        if (assetIndex >= params.assets.length) revert InvalidAssetIndex(assetIndex);
        Holdings.Holding storage slot = _holdings[channelId][assetIndex];
        Holdings.Holding memory holding = slot;
        // Asset 0's slot carries the phase; for another asset it is one more read.
        uint8 phaseFlags = assetIndex == 0 ? holding.flags : _holdings[channelId][0].flags;
        if (phaseFlags & (Holdings.OPENED | Holdings.CONCLUDED) != Holdings.OPENED) {
            revert WrongPhase(channelId, _phaseOf(channelId, phaseFlags));
        }
        if (amount == 0) revert ZeroAmount(assetIndex);
        _deposit(channelId, params, Validation.participantIndex(params, msg.sender), assetIndex, amount, slot, holding);
    }

    // ---------------------------------------------------------------------------------------
    // Withdrawing and closing with co-signed states
    // ---------------------------------------------------------------------------------------

    /**
     * @notice Pays each participant `withdrawnX` of a co-signed state minus `withdrawnX` of the
     * checkpointed state (what was already paid) per asset, without closing. The state becomes the
     * checkpoint: no other state with a lower or equal nonce can be registered afterwards. What each
     * participant keeps must cover the state's net and its locks.
     * @param params The channel's parameters.
     * @param state The co-signed, non-final state.
     * @param signature0 Participant 0's EIP-712 signature of `state`.
     * @param signature1 Participant 1's EIP-712 signature of `state`.
     * @param locks The state's lock list (its root must be `state.locksRoot`; at most MAX_LOCKS).
     * @param checkpoint The state of the previous withdrawal (its digest must match the checkpoint's
     * fingerprint); before the first withdrawal, a state without allocations.
     */
    function withdraw(
        Params calldata params,
        State calldata state,
        bytes calldata signature0,
        bytes calldata signature1,
        Lock[] calldata locks,
        State calldata checkpoint
    ) external nonReentrant {
        (bytes32 channelId, bytes32 digest) = _verifiedState(params, state, signature0, signature1);
        if (state.isFinal) revert UnexpectedFinal(state.nonce);
        Payouts.Payout[] memory payouts = _checkpoint(channelId, digest, state, locks, checkpoint);
        emit Withdrawn(channelId, state.nonce);
        _payAll(channelId, params, payouts);
    }

    /**
     * @notice Closes the channel at once with a co-signed final state and pays both participants.
     * Allowed while open or disputed: no state can follow a final one.
     * @param params The channel's parameters.
     * @param state The co-signed final state.
     * @param signature0 Participant 0's EIP-712 signature of `state`.
     * @param signature1 Participant 1's EIP-712 signature of `state`.
     */
    function closeCooperatively(
        Params calldata params,
        State calldata state,
        bytes calldata signature0,
        bytes calldata signature1
    ) external nonReentrant {
        (bytes32 channelId, ) = _verifiedState(params, state, signature0, signature1);
        if (!state.isFinal) revert NotFinal(state.nonce);
        uint8 flags = _holdings[channelId][0].flags;
        if (flags & (Holdings.OPENED | Holdings.CONCLUDED) != Holdings.OPENED) {
            revert WrongPhase(channelId, _phaseOf(channelId, flags));
        }
        uint64 known = _records[channelId].nonce;
        if (state.nonce <= known) revert StaleNonce(known, state.nonce);
        _conclude(channelId, params, state.nonce, _netsOf(state), new int256[](params.assets.length));
    }

    /**
     * @notice Starts a dispute with a co-signed state; anyone may submit it. A final state
     * concludes the channel at once; any other starts the challenge period.
     * @param params The channel's parameters.
     * @param state The co-signed state: newer than the checkpoint, or the checkpointed state itself.
     * @param signature0 Participant 0's EIP-712 signature of `state`.
     * @param signature1 Participant 1's EIP-712 signature of `state`.
     * @param locks The state's lock list (its root must be `state.locksRoot`; at most MAX_LOCKS).
     */
    function forceClose(
        Params calldata params,
        State calldata state,
        bytes calldata signature0,
        bytes calldata signature1,
        Lock[] calldata locks
    ) external nonReentrant {
        (bytes32 channelId, bytes32 digest) = _verifiedState(params, state, signature0, signature1);
        uint8 flags = _holdings[channelId][0].flags;
        Record storage record = _records[channelId];
        if (flags & (Holdings.OPENED | Holdings.CONCLUDED) != Holdings.OPENED || record.deadline != 0) {
            revert WrongPhase(channelId, _phaseOf(channelId, flags));
        }
        // The checkpointed state itself may be registered; no other of its nonce, nor anything older.
        if (record.fingerprint != 0) {
            if (state.nonce < record.nonce) revert StaleNonce(record.nonce, state.nonce);
            if (state.nonce == record.nonce && bytes19(digest) != record.fingerprint) {
                revert CheckpointMismatch(state.nonce);
            }
        }
        _register(channelId, params, record, state, locks);
    }

    /**
     * @notice Starts a dispute without any signed state: every participant gets back what it holds
     * in the channel. Only a participant may do this, and only before any withdrawal checkpoint, so
     * funds are never stuck when the counterparty vanishes before signing anything.
     * @param params The channel's parameters; the caller must be a participant.
     */
    function forceCloseWithoutState(Params calldata params) external nonReentrant {
        Validation.participantIndex(params, msg.sender);
        bytes32 channelId = StateHashing.channelId(params);
        uint8 flags = _holdings[channelId][0].flags;
        Record storage record = _records[channelId];
        if (flags & (Holdings.OPENED | Holdings.CONCLUDED) != Holdings.OPENED || record.deadline != 0) {
            revert WrongPhase(channelId, _phaseOf(channelId, flags));
        }
        if (record.fingerprint != 0) revert CheckpointExists(record.nonce);
        int256[] memory nets = new int256[](params.assets.length);
        uint40 deadline = uint40(block.timestamp + params.challengePeriod);
        _records[channelId] = Record(0, deadline, StateHashing.outcomeFingerprint(nets, bytes32(0)));
        emit StateRegistered(channelId, 0, deadline, nets, new Lock[](0));
    }

    /**
     * @notice Answers a dispute with a newer co-signed state before the deadline. The deadline
     * moves to at least `now + challengePeriod`, so the other side always has a full period to
     * answer the latest registration (see docs/protocol.md, "Challenge-window rule").
     * @param params The channel's parameters.
     * @param state The co-signed state, with a nonce above the registered one.
     * @param signature0 Participant 0's EIP-712 signature of `state`.
     * @param signature1 Participant 1's EIP-712 signature of `state`.
     * @param locks The state's lock list (its root must be `state.locksRoot`; at most MAX_LOCKS).
     */
    function challenge(
        Params calldata params,
        State calldata state,
        bytes calldata signature0,
        bytes calldata signature1,
        Lock[] calldata locks
    ) external nonReentrant {
        (bytes32 channelId, ) = _verifiedState(params, state, signature0, signature1);
        Record storage record = _records[channelId];
        uint40 deadline = record.deadline;
        // A disputed channel is the only one with a deadline (concluding clears it).
        if (deadline == 0) revert WrongPhase(channelId, _phaseOf(channelId, _holdings[channelId][0].flags));
        if (block.timestamp >= deadline) revert ChallengePeriodOver(deadline);
        if (state.nonce <= record.nonce) revert StaleNonce(record.nonce, state.nonce);
        _register(channelId, params, record, state, locks);
    }

    /**
     * @notice Pays out a disputed channel once its challenge period is over and every lock of the
     * registered state is revealed or expired (or waited for MAX_LOCK_WAIT). Anyone may call it.
     * @param params The channel's parameters.
     * @param nets The registered state's nets, one per asset (from the StateRegistered event).
     * @param locks The registered state's locks (from the StateRegistered event).
     */
    function settle(
        Params calldata params,
        int256[] calldata nets,
        Lock[] calldata locks
    ) external nonReentrant {
        bytes32 channelId = StateHashing.channelId(params);
        Record memory record = _records[channelId];
        if (record.deadline == 0) revert WrongPhase(channelId, _phaseOf(channelId, _holdings[channelId][0].flags));
        if (block.timestamp < record.deadline) revert ChallengePeriodNotOver(record.deadline);
        bytes32 outcome = keccak256(abi.encode(nets, Locks.root(locks)));
        if (bytes19(outcome) != record.fingerprint) revert OutcomeMismatch(channelId, outcome);
        int256[] memory shifts = _resolveLocks(params.assets.length, locks, record.deadline);
        _conclude(channelId, params, record.nonce, nets, shifts);
    }

    // ---------------------------------------------------------------------------------------
    // Hashlocks, claims, held movements, issuer recovery
    // ---------------------------------------------------------------------------------------

    /**
     * @notice Records that the preimage of `keccak256(secret)` is known as of this block.
     * @param secret The preimage; its hash is the lock's hashlock.
     */
    function revealSecret(bytes32 secret) external {
        bytes32 hashlock = keccak256(abi.encode(secret));
        if (_secretRevealedAt[hashlock] != 0) return;
        _secretRevealedAt[hashlock] = block.timestamp;
        emit SecretRevealed(hashlock, secret);
    }

    /**
     * @notice Pays the caller its claimable balance of `token` (left by a payout that reverted).
     * @param token The token to claim.
     */
    function claim(address token) external nonReentrant {
        uint256 amount = _claimable[token][msg.sender];
        if (amount == 0) revert NothingClaimable(token, msg.sender);
        delete _claimable[token][msg.sender];
        emit Claimed(token, msg.sender, amount);
        IERC20(token).safeTransfer(msg.sender, amount);
    }

    /**
     * @notice Lets the token's controller move a frozen holder's claimable balance to a recovery
     * address (itself or a treasury): the issuer's legal powers reach into layer two.
     * @param token The restricted token.
     * @param holder The frozen holder.
     * @param recipient Where the tokens go.
     */
    function recoverClaimable(address token, address holder, address recipient) external nonReentrant {
        if (!TokenCalls.isController(token, msg.sender)) revert NotController(token, msg.sender);
        if (!IRestrictedToken(token).isFrozen(holder)) revert HolderNotFrozen(token, holder);
        uint256 amount = _claimable[token][holder];
        if (amount == 0) revert NothingClaimable(token, holder);
        delete _claimable[token][holder];
        emit ClaimableRecovered(token, holder, recipient, amount, msg.sender);
        IERC20(token).safeTransfer(recipient, amount);
    }

    /**
     * @notice The token's controller decides a held movement: it pays the whole held amount from
     * `from` to `to` to `recipient` — `to` (release), `from`, itself or a treasury (recovery).
     * @param token The restricted token.
     * @param from The sender of the held movement.
     * @param to The receiver of the held movement.
     * @param recipient Where the tokens go.
     */
    function releaseHeld(address token, address from, address to, address recipient) external nonReentrant {
        if (!TokenCalls.isController(token, msg.sender)) revert NotController(token, msg.sender);
        _releaseHeld(token, from, to, recipient);
    }

    /**
     * @notice The receiver of a held movement takes it once the token's rules allow the movement
     * (e.g. the sender was unfrozen or its lock-up ended): its recourse without the controller.
     * @param token The restricted token.
     * @param from The sender of the held movement; the caller is its receiver.
     */
    function claimHeld(address token, address from) external nonReentrant {
        uint256 amount = _held[token][from][msg.sender];
        if (amount == 0) revert NothingHeld(token, from, msg.sender);
        uint8 code = TokenCalls.custodialCode(token, from, msg.sender, amount);
        if (code != 0) revert MovementRestricted(token, from, msg.sender, code);
        _releaseHeld(token, from, msg.sender, msg.sender);
    }

    // ---------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------

    /**
     * @notice The id of a channel: its parameters bound to this chain and this adjudicator.
     * @param params The channel's parameters.
     * @return The channel id.
     */
    function channelIdOf(Params calldata params) public view returns (bytes32) {
        return StateHashing.channelId(params);
    }

    /**
     * @notice The EIP-712 digest that both participants sign for `state`.
     * @param state The state.
     * @return The digest.
     */
    function stateDigest(State calldata state) public view returns (bytes32) {
        return StateHashing.digest(state, _domainSeparatorV4());
    }

    /**
     * @notice The commitment to a list of locks: zero for none, else `keccak256(abi.encode(locks))`.
     * @param locks The lock list (at most MAX_LOCKS).
     * @return The root.
     */
    function locksRootOf(Lock[] calldata locks) external pure returns (bytes32) {
        if (locks.length > MAX_LOCKS) revert TooManyLocks(locks.length);
        return Locks.root(locks);
    }

    /**
     * @notice A channel's phase, its registered or checkpointed nonce, and its dispute deadline.
     * @param channelId The channel.
     * @return phase Where the channel is (None: never opened).
     * @return nonce While disputed the registered nonce; while open the last checkpoint (0: none);
     * once concluded the nonce of the state it concluded with.
     * @return deadline End of the challenge period while disputed, else 0.
     */
    function channel(bytes32 channelId) external view returns (Phase phase, uint64 nonce, uint64 deadline) {
        Holdings.Holding storage first = _holdings[channelId][0];
        if (first.flags & Holdings.CONCLUDED != 0) return (Phase.Concluded, uint64(uint120(first.available0)), 0);
        Record storage record = _records[channelId];
        return (_phaseOf(channelId, first.flags), record.nonce, record.deadline);
    }

    /**
     * @notice What the channel holds of asset `assetIndex` for each participant: deposits minus
     * withdrawals (negative once a participant withdrew funds it received). What each withdrew is
     * the checkpointed state's `withdrawn` (the `Withdrawn` event names its nonce).
     * @param channelId The channel.
     * @param assetIndex The asset's index in the channel's parameters.
     * @return available0 Held for participant 0.
     * @return available1 Held for participant 1.
     */
    function holdings(bytes32 channelId, uint256 assetIndex) external view returns (int256 available0, int256 available1) {
        // A concluded channel holds nothing (asset 0's slot keeps the concluded nonce).
        if (_holdings[channelId][0].flags & Holdings.CONCLUDED != 0) return (0, 0);
        Holdings.Holding storage holding = _holdings[channelId][assetIndex];
        return (holding.available0, holding.available1);
    }

    /**
     * @notice The claimable balance of `holder` in `token`.
     * @param token The token.
     * @param holder The holder.
     * @return The amount.
     */
    function claimableOf(address token, address holder) external view returns (uint256) {
        return _claimable[token][holder];
    }

    /**
     * @notice What is held of `token` from `from` to `to`, awaiting the controller (or the rules).
     * @param token The restricted token.
     * @param from The sender of the held movements.
     * @param to Their receiver.
     * @return The amount.
     */
    function heldOf(address token, address from, address to) external view returns (uint256) {
        return _held[token][from][to];
    }

    /**
     * @notice When the preimage of `hashlock` was revealed (0 if never).
     * @param hashlock The hashlock.
     * @return The block timestamp of the reveal.
     */
    function secretRevealedAt(bytes32 hashlock) external view returns (uint256) {
        return _secretRevealedAt[hashlock];
    }

    /**
     * @notice The EIP-712 domain separator of this adjudicator.
     * @return The separator.
     */
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---------------------------------------------------------------------------------------
    // Internals
    // ---------------------------------------------------------------------------------------

    /// @dev The phase from asset 0's flags and the record: only a disputed channel has a deadline.
    function _phaseOf(bytes32 channelId, uint8 flags) private view returns (Phase) {
        if (flags & Holdings.CONCLUDED != 0) return Phase.Concluded;
        if (flags & Holdings.OPENED == 0) return Phase.None;
        return _records[channelId].deadline != 0 ? Phase.Disputed : Phase.Open;
    }

    /// @dev Credits `amount` to `holding` (the slot's current value) and writes the slot once.
    function _deposit(
        bytes32 channelId,
        Params calldata params,
        uint256 participantIndex,
        uint256 assetIndex,
        uint256 amount,
        Holdings.Holding storage slot,
        Holdings.Holding memory holding
    ) private {
        address token = params.assets[assetIndex];
        if (holding.flags & Holdings.PROBED == 0) {
            holding.flags |= Holdings.PROBED | (TokenCalls.isRestricted(token) ? Holdings.RESTRICTED : 0);
        }
        // Credit only what arrived: a token that delivers less (or more) would let this channel
        // take value from other channels of the same token at payout.
        uint256 before = TokenCalls.balanceOfThis(token);
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = TokenCalls.balanceOfThis(token) - before;
        if (received != amount) revert DeliveryMismatch(token, amount, received);
        if (participantIndex == 0) holding.available0 = (int256(holding.available0) + amount.toInt256()).toInt120();
        else holding.available1 = (int256(holding.available1) + amount.toInt256()).toInt120();
        Holdings.write(slot, holding);
        emit Deposited(channelId, token, msg.sender, amount);
    }

    /// @dev Checks the state's shape against the channel and both EIP-712 signatures.
    function _verifiedState(
        Params calldata params,
        State calldata state,
        bytes calldata signature0,
        bytes calldata signature1
    ) private view returns (bytes32 channelId, bytes32 digest) {
        channelId = StateHashing.channelId(params);
        if (state.channelId != channelId) revert WrongChannel(channelId, state.channelId);
        Validation.checkAllocations(params.assets, state.allocations);
        if (state.isFinal && state.locksRoot != bytes32(0) && state.locksRoot != Locks.EMPTY_LIST_ROOT) {
            revert FinalStateWithLocks(state.locksRoot);
        }
        digest = stateDigest(state);
        Validation.checkSignature(digest, signature0, params.participants[0], 0);
        Validation.checkSignature(digest, signature1, params.participants[1], 1);
    }

    function _register(
        bytes32 channelId,
        Params calldata params,
        Record storage record,
        State calldata state,
        Lock[] calldata locks
    ) private {
        bytes32 root = Locks.check(state.locksRoot, locks);
        int256[] memory nets = _netsOf(state);
        if (state.isFinal) {
            _conclude(channelId, params, state.nonce, nets, new int256[](params.assets.length));
            return;
        }
        uint40 answerBy = uint40(block.timestamp + params.challengePeriod);
        uint40 deadline = record.deadline > answerBy ? record.deadline : answerBy;
        _records[channelId] = Record(state.nonce, deadline, StateHashing.outcomeFingerprint(nets, root));
        emit StateRegistered(channelId, state.nonce, deadline, nets, locks);
    }

    /// @dev Makes `state` (digest `digest`) the open channel's checkpoint and books its withdrawals
    /// beyond those of the previous `checkpoint`; returns what to pay.
    function _checkpoint(
        bytes32 channelId,
        bytes32 digest,
        State calldata state,
        Lock[] calldata locks,
        State calldata checkpoint
    ) private returns (Payouts.Payout[] memory) {
        uint8 flags = _holdings[channelId][0].flags;
        Record storage record = _records[channelId];
        if (flags & (Holdings.OPENED | Holdings.CONCLUDED) != Holdings.OPENED || record.deadline != 0) {
            revert WrongPhase(channelId, _phaseOf(channelId, flags));
        }
        if (state.nonce <= record.nonce) revert StaleNonce(record.nonce, state.nonce);
        Locks.check(state.locksRoot, locks);
        Payouts.Payout[] memory payouts = Payouts.withdrawalsBeyond(
            state.allocations,
            _checkpointedAllocations(record, checkpoint)
        );
        record.nonce = state.nonce;
        record.fingerprint = bytes19(digest);
        _recordWithdrawals(channelId, state.allocations, locks, payouts);
        return payouts;
    }

    /// @dev The checkpointed state's allocations (what was withdrawn so far): `checkpoint` must be the
    /// state whose digest the record pins, or have no allocations when there is no checkpoint.
    function _checkpointedAllocations(
        Record storage record,
        State calldata checkpoint
    ) private view returns (Allocation[] calldata) {
        bytes19 fingerprint = record.fingerprint;
        if (fingerprint == 0 ? checkpoint.allocations.length != 0 : bytes19(stateDigest(checkpoint)) != fingerprint) {
            revert CheckpointMismatch(checkpoint.nonce);
        }
        return checkpoint.allocations;
    }

    function _recordWithdrawals(
        bytes32 channelId,
        Allocation[] calldata allocations,
        Lock[] calldata locks,
        Payouts.Payout[] memory payouts
    ) private {
        (uint256[] memory locked0, uint256[] memory locked1) = Locks.lockedAmounts(payouts.length, locks);
        for (uint256 i = 0; i < payouts.length; ++i) {
            _recordWithdrawal(channelId, i, allocations[i], payouts[i], locked0[i], locked1[i]);
        }
    }

    /// @dev Books `payout`'s amounts (the withdrawals beyond the checkpoint's) against the asset's
    /// holding and fills in the rest of `payout`.
    function _recordWithdrawal(
        bytes32 channelId,
        uint256 assetIndex,
        Allocation calldata allocation,
        Payouts.Payout memory payout,
        uint256 locked0,
        uint256 locked1
    ) private {
        Holdings.Holding storage holdingSlot = _holdings[channelId][assetIndex];
        Holdings.Holding memory holding = holdingSlot;
        int256 available0 = holding.available0;
        int256 available1 = holding.available1;
        // What each participant keeps after the withdrawal must still cover the state's net and its
        // locks: a participant may withdraw what it received off chain, never more than its balance.
        int256 remaining0 = available0 - int256(payout.amount0);
        int256 remaining1 = available1 - int256(payout.amount1);
        int256 net = allocation.net;
        if (remaining0 - net - int256(locked0) < 0) revert WithdrawalExceedsBalance(allocation.token, 0);
        if (remaining1 + net - int256(locked1) < 0) revert WithdrawalExceedsBalance(allocation.token, 1);
        payout.moved0 = Payouts.beyondOwn(payout.amount0, available0);
        payout.moved1 = Payouts.beyondOwn(payout.amount1, available1);
        payout.restricted = holding.flags & Holdings.RESTRICTED != 0;
        holdingSlot.available0 = remaining0.toInt120();
        holdingSlot.available1 = remaining1.toInt120();
    }

    /// @dev Net adjustments per asset from the locks: revealed in time → receiver, else → sender. A
    /// malformed lock (unknown asset or sender) moves nothing; a lock still open `MAX_LOCK_WAIT` after
    /// the deadline counts as expired. So every registered state settles, whatever its locks.
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

    /// @dev Marks the channel concluded, clears its balances, then pays out (checking movements).
    function _conclude(
        bytes32 channelId,
        Params calldata params,
        uint64 nonce,
        int256[] memory nets,
        int256[] memory shifts
    ) private {
        uint256 assetCount = params.assets.length;
        Payouts.Payout[] memory payouts = new Payouts.Payout[](assetCount);
        for (uint256 i = 0; i < assetCount; ++i) {
            Holdings.Holding memory holding = _holdings[channelId][i];
            Payouts.Payout memory payout = payouts[i];
            (payout.amount0, payout.amount1) = Payouts.split(
                holding.available0,
                holding.available1,
                nets[i] + shifts[i]
            );
            payout.moved0 = Payouts.beyondOwn(payout.amount0, holding.available0);
            payout.moved1 = Payouts.beyondOwn(payout.amount1, holding.available1);
            payout.restricted = holding.flags & Holdings.RESTRICTED != 0;
            if (i == 0) _holdings[channelId][0] = Holdings.Holding(Holdings.CONCLUDED_FLAGS, int120(uint120(nonce)), 0);
            else delete _holdings[channelId][i];
        }
        delete _records[channelId];
        emit ChannelConcluded(channelId, nonce);
        _payAll(channelId, params, payouts);
    }

    /// @dev Pays every asset's payouts; for a restricted token, a movement between the participants
    /// that the token's rules refuse is held for the controller instead of reaching the receiver.
    function _payAll(bytes32 channelId, Params calldata params, Payouts.Payout[] memory payouts) private {
        address p0 = params.participants[0];
        address p1 = params.participants[1];
        for (uint256 i = 0; i < payouts.length; ++i) {
            Payouts.Payout memory payout = payouts[i];
            address token = params.assets[i];
            if (payout.restricted) {
                if (payout.moved0 != 0) payout.amount0 -= _holdIfRefused(channelId, token, p1, p0, payout.moved0);
                if (payout.moved1 != 0) payout.amount1 -= _holdIfRefused(channelId, token, p0, p1, payout.moved1);
            }
            _pay(channelId, token, p0, payout.amount0);
            _pay(channelId, token, p1, payout.amount1);
        }
    }

    /// @dev Checks the movement `from` → `to` with the token's custodial rule; returns what was held.
    function _holdIfRefused(
        bytes32 channelId,
        address token,
        address from,
        address to,
        uint256 amount
    ) private returns (uint256) {
        uint8 code = TokenCalls.custodialCode(token, from, to, amount);
        if (code == 0) return 0;
        _held[token][from][to] += amount;
        emit MovementHeld(channelId, token, from, to, amount, code);
        return amount;
    }

    function _releaseHeld(address token, address from, address to, address recipient) private {
        uint256 amount = _held[token][from][to];
        if (amount == 0) revert NothingHeld(token, from, to);
        delete _held[token][from][to];
        emit HeldReleased(token, from, to, recipient, amount, msg.sender);
        IERC20(token).safeTransfer(recipient, amount);
    }

    /// @dev Pushes a payout; if the token reverts or refuses, the amount becomes claimable instead.
    function _pay(bytes32 channelId, address token, address to, uint256 amount) private {
        if (amount == 0) return;
        if (!TokenCalls.tryTransfer(token, to, amount)) {
            _claimable[token][to] += amount;
            emit PayoutDeferred(channelId, token, to, amount);
        }
    }

    function _netsOf(State calldata state) private pure returns (int256[] memory nets) {
        uint256 count = state.allocations.length;
        nets = new int256[](count);
        for (uint256 i = 0; i < count; ++i) nets[i] = state.allocations[i].net;
    }
}
