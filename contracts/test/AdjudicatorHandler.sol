// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {Adjudicator} from "../Adjudicator.sol";
import {IAdjudicator} from "../interfaces/IAdjudicator.sol";
import {TestERC20} from "../mocks/TestERC20.sol";
import {HostileToken} from "../mocks/HostileToken.sol";
import {ChannelTestBase} from "./utils/ChannelTestBase.sol";

/**
 * @title Stateful fuzzing handler for the Adjudicator
 * @notice The invariant fuzzer calls these actions in random order with random arguments. The
 * handler owns both participants' keys, signs states (honest ones and garbage ones), submits them
 * with valid and invalid signatures, moves the clock, reveals secrets, settles and claims, and keeps
 * a ghost model of every channel. For every call it predicts whether the adjudicator must accept it
 * and, when money moves, exactly how much each participant receives (pushed or left claimable).
 * Any disagreement is recorded in `violations`/`firstViolation`; the invariant test asserts there
 * is none. The handler never reverts on purpose: a reverting handler call is simply discarded by
 * the fuzzer, so all checks are recorded rather than thrown.
 * @dev Asset 0 is a plain ERC-20, asset 1 a HostileToken whose payout behaviour the fuzzer switches.
 * Honest withdrawals are generated up to the withdrawer's balance, which includes what it received
 * off chain (`testFuzz_withdrawReceivedFunds` in AdjudicatorFuzz.t.sol).
 */
contract AdjudicatorHandler is ChannelTestBase {
    using Strings for uint256;

    uint256 public constant MAX_CHANNELS = 4;
    uint256 public constant MAX_DEPOSIT = 1e21;
    uint256 public constant SECRET_COUNT = 4;
    uint256 public constant MAX_LOCKS_PER_STATE = 3;
    uint256 internal constant CLAIM_GAS = 2_000_000;

    /// @dev An off-chain state both participants signed. `honest`: every balance non-negative
    /// when it was signed and derived only from honest states.
    struct GState {
        uint64 nonce;
        int256[2] nets;
        uint256[2][2] withdrawn; // [asset][participant]
        bool isFinal;
        bool honest;
    }

    struct Chan {
        bytes32 id;
        bytes32 salt;
        uint64 period;
        IAdjudicator.Phase phase;
        uint64 checkpoint; // nonce of the last executed withdrawal
        uint256 checkpointIdx; // 1-based history index of the checkpointed state; 0 = none
        uint64 regNonce; // registered nonce while disputed
        uint64 deadline; // while disputed
        uint64 closedNonce; // once concluded
        uint64 lastSeenNonce; // last nonce read from the contract
        uint64 nextNonce;
        uint256 regIdx; // 1-based history index of the registered state; 0 = registered without a state
        bool tainted; // a garbage (dishonest) state was signed at some point
        uint256[2][2] deposits; // [asset][participant]
        uint256[2][2] paid; // withdrawn without closing [asset][participant]
        uint256[2][2] payouts; // paid at conclusion, pushed or left claimable [asset][participant]
    }

    /// @dev What moved to the participants during one call.
    struct Snap {
        uint256[2][2] balance; // [asset][participant]
        uint256[2][2] claimable;
    }

    /// @dev A state ready to submit.
    struct Submission {
        uint256 idx;
        GState g;
        IAdjudicator.Lock[] locks;
        IAdjudicator.State state;
        bytes sig0;
        bytes sig1;
        bool valid; // well formed, right channel, both signatures valid
    }

    Chan[] internal _chans;
    mapping(uint256 channelIndex => GState[]) internal _history;
    mapping(uint256 channelIndex => mapping(uint256 stateIndex => IAdjudicator.Lock[])) internal _locks;
    mapping(bytes32 hashlock => uint256) internal _revealedAt;

    uint256[2][2] internal _ghostClaimable; // [asset][participant]
    uint256[2] internal _ghostIn; // deposited, per asset
    uint256[2] internal _ghostOut; // pushed or claimed out, per asset
    HostileToken.Mode public hostileMode;

    uint256 public violations;
    string public firstViolation;

    /// @notice How often each action succeeded (for coverage checks in tests).
    mapping(bytes32 action => uint256) public succeeded;

    constructor() {
        _deployWorld();
    }

    // ---------------------------------------------------------------------------------------
    // Views for the invariant test
    // ---------------------------------------------------------------------------------------

    function world() external view returns (Adjudicator, TestERC20, HostileToken, address, address, address) {
        return (adjudicator, plain, hostile, p0, p1, eve);
    }

    function channelCount() external view returns (uint256) {
        return _chans.length;
    }

    function channelInfo(
        uint256 i
    )
        external
        view
        returns (
            bytes32 id,
            IAdjudicator.Phase phase,
            uint64 checkpoint,
            uint256[2][2] memory deposits,
            uint256[2][2] memory paid,
            uint256[2][2] memory payouts
        )
    {
        Chan storage c = _chans[i];
        return (c.id, c.phase, c.checkpoint, c.deposits, c.paid, c.payouts);
    }

    function ghostClaimable(uint256 asset, uint256 who) external view returns (uint256) {
        return _ghostClaimable[asset][who];
    }

    function ghostFlows(uint256 asset) external view returns (uint256 inflow, uint256 outflow) {
        return (_ghostIn[asset], _ghostOut[asset]);
    }

    function historyLength(uint256 i) external view returns (uint256) {
        return _history[i].length;
    }

    // ---------------------------------------------------------------------------------------
    // Actions
    // ---------------------------------------------------------------------------------------

    /// @notice Opens a new channel (with an optional first deposit), or tries to reopen one (must fail).
    function openChannel(uint256 seed, uint256 amount) external {
        if (_chans.length != 0 && seed % 5 == 0) {
            Chan storage existing = _chans[(seed / 5) % _chans.length];
            IAdjudicator.Params memory again = _paramsOf(existing);
            vm.prank(p1);
            try adjudicator.open(again, 0, 0) {
                _fail("open: reopened an existing channel");
            } catch {}
            _observe();
            return;
        }
        if (_chans.length >= MAX_CHANNELS) return;
        uint64 period = uint64(_bound(seed >> 8, 60, 3 days));
        bytes32 salt = bytes32(_chans.length + 1);
        uint256 who = (seed >> 80) % 2;
        uint256 asset = (seed >> 88) % 2;
        amount = _bound(amount, 0, MAX_DEPOSIT);
        address depositor = _participant(who);
        if (amount != 0) _mint(depositor, asset, amount);
        IAdjudicator.Params memory params = _params(salt, period);
        vm.prank(depositor);
        try adjudicator.open(params, asset, amount) returns (bytes32 id) {
            if (id != _channelId(params)) _fail("open: channel id differs from the spec");
            Chan storage c = _chans.push();
            c.id = id;
            c.salt = salt;
            c.period = period;
            c.phase = IAdjudicator.Phase.Open;
            c.nextNonce = 1;
            if (amount != 0) _credit(c, asset, who, amount);
            succeeded["open"]++;
        } catch {
            _fail("open: refused a valid channel");
        }
        _observe();
    }

    /// @notice A participant (or an outsider) deposits into a channel.
    function deposit(uint256 chanSeed, uint256 whoSeed, uint256 amount) external {
        if (_chans.length == 0) return;
        Chan storage c = _chans[chanSeed % _chans.length];
        uint256 who = whoSeed % 5 == 4 ? 2 : whoSeed % 2; // 2 = outsider
        uint256 asset = (whoSeed >> 8) % 2;
        amount = _bound(amount, 1, MAX_DEPOSIT);
        address from = who == 2 ? eve : _participant(who);
        _mint(from, asset, amount);
        bool expectOk = who != 2 && (c.phase == IAdjudicator.Phase.Open || c.phase == IAdjudicator.Phase.Disputed);
        IAdjudicator.Params memory params = _paramsOf(c);
        vm.prank(from);
        try adjudicator.deposit(params, asset, amount) {
            if (!expectOk) _fail("deposit: accepted from an outsider or into a closed channel");
            else {
                _credit(c, asset, who, amount);
                succeeded["deposit"]++;
            }
        } catch {
            if (expectOk) _fail("deposit: refused");
        }
        _observe();
    }

    /// @notice Both participants sign a payment of either asset in either direction.
    function signPayment(uint256 chanSeed, uint256 a, uint256 b) external {
        _signNext(chanSeed, 0, a, b);
    }

    /// @notice Both participants sign a withdrawal (applied on chain only by `withdraw`).
    function signWithdrawal(uint256 chanSeed, uint256 a, uint256 b) external {
        _signNext(chanSeed, 1, a, b);
    }

    /// @notice Both participants sign a new hashlocked transfer.
    function signLock(uint256 chanSeed, uint256 a, uint256 b) external {
        _signNext(chanSeed, 2, a, b);
    }

    /// @notice Both participants sign the off-chain resolution of revealed or expired locks
    /// (or, with nothing to resolve, an acknowledgement: same split under a new nonce).
    function signLockResolution(uint256 chanSeed) external {
        _signNext(chanSeed, 3, 0, 0);
    }

    /// @notice Both participants sign a final state (pending locks cancelled).
    function signFinal(uint256 chanSeed) external {
        _signNext(chanSeed, 4, 0, 0);
    }

    /// @notice Rarely, both participants sign garbage no honest party would: arbitrary nets and
    /// withdrawals, sometimes out of range. The channel is then "tainted": exact-share checks are
    /// replaced by the clamp rule, all conservation checks still apply.
    function signGarbage(uint256 chanSeed, uint256 a, uint256 b) external {
        if (a % 4 != 0) return;
        _signNext(chanSeed, 5, a >> 2, b);
    }

    /// @notice Submits a signed state (the latest or an older one) as a withdrawal, with the
    /// checkpointed state or, sometimes, another signed state in its place.
    function withdraw(uint256 chanSeed, uint256 stateSeed, uint256 sigMode) external {
        if (_chans.length == 0) return;
        uint256 ci = chanSeed % _chans.length;
        Chan storage c = _chans[ci];
        (bool found, Submission memory sub) = _prepare(ci, stateSeed, sigMode);
        if (!found) return;
        IAdjudicator.State memory checkpoint = _checkpointState(ci, c.checkpointIdx);
        if ((stateSeed >> 16) % 8 == 0) {
            // Another state of the history (or none) in place of the checkpoint: only the very
            // checkpointed state tells what was paid.
            IAdjudicator.State memory other = _checkpointState(ci, (stateSeed >> 24) % (_history[ci].length + 1));
            if (_digestOrZero(other) != _digestOrZero(checkpoint)) succeeded["wrongCheckpoint"]++;
            checkpoint = other;
        }
        bool expectOk = _withdrawalAllowed(c, sub) && _digestOrZero(checkpoint) == _digestOrZero(_checkpointState(ci, c.checkpointIdx));
        IAdjudicator.Params memory params = _paramsOf(c);
        Snap memory before = _snap();
        try adjudicator.withdraw(params, sub.state, sub.sig0, sub.sig1, sub.locks, checkpoint) {
            if (!expectOk) {
                _fail(_msg("withdraw: accepted a state it must refuse, nonce ", sub.g.nonce));
            } else {
                _applyWithdrawal(c, sub, before);
                succeeded["withdraw"]++;
            }
        } catch {
            if (expectOk) _fail(_msg("withdraw: refused an acceptable state, nonce ", sub.g.nonce));
        }
        _observe();
    }

    /// @notice Registers a signed state (possibly stale, possibly invalid) to start a dispute.
    function forceClose(uint256 chanSeed, uint256 stateSeed, uint256 sigMode) external {
        if (_chans.length == 0) return;
        uint256 ci = chanSeed % _chans.length;
        Chan storage c = _chans[ci];
        (bool found, Submission memory sub) = _prepare(ci, stateSeed, sigMode);
        if (!found) return;
        bool expectOk = sub.valid && c.phase == IAdjudicator.Phase.Open && sub.g.nonce >= c.checkpoint;
        IAdjudicator.Params memory params = _paramsOf(c);
        Snap memory before = _snap();
        try adjudicator.forceClose(params, sub.state, sub.sig0, sub.sig1, sub.locks) {
            if (!expectOk) _fail(_msg("forceClose: accepted a state it must refuse, nonce ", sub.g.nonce));
            else if (sub.g.isFinal) _concluded(ci, before, sub.g.nets, [int256(0), int256(0)], sub.g.nonce);
            else _registered(c, sub.idx + 1, sub.g.nonce);
            if (expectOk) succeeded["forceClose"]++;
        } catch {
            if (expectOk) _fail(_msg("forceClose: refused an acceptable state, nonce ", sub.g.nonce));
        }
        _observe();
    }

    /// @notice A participant (or an outsider) closes without any state.
    function forceCloseWithoutState(uint256 chanSeed, uint256 whoSeed) external {
        if (_chans.length == 0) return;
        Chan storage c = _chans[chanSeed % _chans.length];
        uint256 who = whoSeed % 3;
        address caller = who == 2 ? eve : _participant(who);
        bool expectOk = who != 2 && c.phase == IAdjudicator.Phase.Open && c.checkpoint == 0;
        IAdjudicator.Params memory params = _paramsOf(c);
        vm.prank(caller);
        try adjudicator.forceCloseWithoutState(params) {
            if (!expectOk) _fail("forceCloseWithoutState: accepted");
            else {
                _registered(c, 0, 0);
                succeeded["forceCloseWithoutState"]++;
            }
        } catch {
            if (expectOk) _fail("forceCloseWithoutState: refused");
        }
        _observe();
    }

    /// @notice Answers a dispute with a signed state (newer, equal, or stale).
    function challenge(uint256 chanSeed, uint256 stateSeed, uint256 sigMode) external {
        if (_chans.length == 0) return;
        uint256 ci = chanSeed % _chans.length;
        Chan storage c = _chans[ci];
        (bool found, Submission memory sub) = _prepare(ci, stateSeed, sigMode);
        if (!found) return;
        bool expectOk = sub.valid &&
            c.phase == IAdjudicator.Phase.Disputed &&
            block.timestamp < c.deadline &&
            sub.g.nonce > c.regNonce;
        IAdjudicator.Params memory params = _paramsOf(c);
        Snap memory before = _snap();
        try adjudicator.challenge(params, sub.state, sub.sig0, sub.sig1, sub.locks) {
            if (!expectOk) _fail(_msg("challenge: accepted a state it must refuse, nonce ", sub.g.nonce));
            else if (sub.g.isFinal) _concluded(ci, before, sub.g.nets, [int256(0), int256(0)], sub.g.nonce);
            else _registered(c, sub.idx + 1, sub.g.nonce);
            if (expectOk) succeeded["challenge"]++;
        } catch {
            if (expectOk) _fail(_msg("challenge: refused an acceptable state, nonce ", sub.g.nonce));
        }
        _observe();
    }

    /// @notice Closes with a signed state; only a final one that is newer than the record may succeed.
    function closeCooperatively(uint256 chanSeed, uint256 stateSeed, uint256 sigMode) external {
        if (_chans.length == 0) return;
        uint256 ci = chanSeed % _chans.length;
        Chan storage c = _chans[ci];
        (bool found, Submission memory sub) = _prepare(ci, stateSeed, sigMode);
        if (!found) return;
        bool live = c.phase == IAdjudicator.Phase.Open || c.phase == IAdjudicator.Phase.Disputed;
        bool expectOk = sub.valid && sub.g.isFinal && live && sub.g.nonce > _recordNonce(c);
        IAdjudicator.Params memory params = _paramsOf(c);
        Snap memory before = _snap();
        try adjudicator.closeCooperatively(params, sub.state, sub.sig0, sub.sig1) {
            if (!expectOk) _fail(_msg("closeCooperatively: accepted a state it must refuse, nonce ", sub.g.nonce));
            else {
                _concluded(ci, before, sub.g.nets, [int256(0), int256(0)], sub.g.nonce);
                succeeded["closeCooperatively"]++;
            }
        } catch {
            if (expectOk) _fail(_msg("closeCooperatively: refused an acceptable state, nonce ", sub.g.nonce));
        }
        _observe();
    }

    /// @notice Settles a channel with the registered outcome (or a tampered one, which must fail).
    function settle(uint256 chanSeed, uint256 mode) external {
        if (_chans.length == 0) return;
        uint256 ci = chanSeed % _chans.length;
        Chan storage c = _chans[ci];
        int256[2] memory nets;
        IAdjudicator.Lock[] memory locks;
        if (c.regIdx != 0) {
            nets = _history[ci][c.regIdx - 1].nets;
            locks = _locks[ci][c.regIdx - 1];
        }
        bool tampered;
        if (mode % 8 == 7) {
            nets[mode % 2] += 1;
            tampered = true;
        } else if (mode % 8 == 6 && locks.length != 0) {
            IAdjudicator.Lock[] memory fewer = new IAdjudicator.Lock[](locks.length - 1);
            for (uint256 i = 0; i < fewer.length; ++i) fewer[i] = locks[i];
            locks = fewer;
            tampered = true;
        }
        (int256[2] memory shifts, bool resolved, bool waited) = _lockShifts(locks, c.deadline);
        bool expectOk = c.phase == IAdjudicator.Phase.Disputed &&
            block.timestamp >= c.deadline &&
            !tampered &&
            resolved;
        int256[] memory netsArg = new int256[](2);
        netsArg[0] = nets[0];
        netsArg[1] = nets[1];
        IAdjudicator.Params memory params = _paramsOf(c);
        Snap memory before = _snap();
        try adjudicator.settle(params, netsArg, locks) {
            if (!expectOk) _fail("settle: accepted a call it must refuse");
            else {
                _concluded(ci, before, nets, shifts, c.regNonce);
                succeeded["settle"]++;
                if (locks.length != 0) succeeded["settleWithLocks"]++;
                if (waited) succeeded["settleAfterLockWait"]++;
            }
        } catch {
            if (expectOk) _fail("settle: refused a settleable channel");
        }
        _observe();
    }

    /// @notice Reveals one of a few known secrets at the current time.
    function revealSecret(uint256 index) external {
        bytes32 secret = _secret(index % SECRET_COUNT);
        bytes32 hashlock = _hashlock(secret);
        adjudicator.revealSecret(secret);
        if (_revealedAt[hashlock] == 0) _revealedAt[hashlock] = block.timestamp;
        if (adjudicator.secretRevealedAt(hashlock) != _revealedAt[hashlock]) _fail("revealSecret: time differs");
        succeeded["reveal"]++;
    }

    /// @notice A participant (or an outsider) claims a claimable balance.
    function claim(uint256 whoSeed, uint256 assetSeed) external {
        uint256 who = whoSeed % 3;
        uint256 asset = assetSeed % 2;
        address holder = who == 2 ? eve : _participant(who);
        address token = _token(asset);
        uint256 owed = who == 2 ? 0 : _ghostClaimable[asset][who];
        bool expectOk = owed != 0 && (asset == 0 || !_refusing(hostileMode));
        uint256 balanceBefore = IERC20(token).balanceOf(holder);
        vm.prank(holder);
        try adjudicator.claim{gas: CLAIM_GAS}(token) {
            if (!expectOk) _fail("claim: paid a claim it must refuse");
            else {
                uint256 received = IERC20(token).balanceOf(holder) - balanceBefore;
                if (received != owed) _fail("claim: paid a different amount than owed");
                _ghostClaimable[asset][who] = 0;
                _ghostOut[asset] += received;
                succeeded["claim"]++;
            }
        } catch {
            if (expectOk) _fail("claim: refused a payable claim");
        }
        _observe();
    }

    /// @notice Moves the clock forward by up to four days.
    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + _bound(seconds_, 0, 4 days));
    }

    /// @notice Moves the clock to just before, at, or just after a disputed channel's deadline.
    function warpToDeadline(uint256 chanSeed, uint256 offset) external {
        if (_chans.length == 0) return;
        Chan storage c = _chans[chanSeed % _chans.length];
        if (c.phase != IAdjudicator.Phase.Disputed) return;
        uint256 target = c.deadline + (offset % 3) - 1; // deadline - 1, deadline, deadline + 1
        if (target > block.timestamp) vm.warp(target);
    }

    /// @notice Moves the clock to just before, at, or just after `MAX_LOCK_WAIT` past a disputed
    /// channel's deadline, when a lock that has not expired yet counts as expired.
    function warpPastLockWait(uint256 chanSeed, uint256 offset) external {
        if (_chans.length == 0) return;
        Chan storage c = _chans[chanSeed % _chans.length];
        if (c.phase != IAdjudicator.Phase.Disputed) return;
        uint256 target = c.deadline + adjudicator.MAX_LOCK_WAIT() + (offset % 3) - 1;
        if (target > block.timestamp) vm.warp(target);
    }

    /// @notice Switches the hostile token's behaviour on payouts from the adjudicator.
    function setHostileMode(uint256 modeSeed, uint256 chanSeed) external {
        HostileToken.Mode mode = HostileToken.Mode(modeSeed % 5);
        bytes memory reentry = abi.encodeCall(adjudicator.claim, (address(hostile)));
        if (mode == HostileToken.Mode.Reenter && _chans.length != 0) {
            // Re-enter with a withdrawal of another channel: it would go through without the guard.
            uint256 ci = chanSeed % _chans.length;
            (bool found, Submission memory sub) = _prepare(ci, 1, 0);
            if (found) {
                reentry = abi.encodeCall(
                    adjudicator.withdraw,
                    (_paramsOf(_chans[ci]), sub.state, sub.sig0, sub.sig1, sub.locks, _checkpointState(ci, _chans[ci].checkpointIdx))
                );
            }
        }
        hostile.arm(mode, address(adjudicator), reentry);
        hostileMode = mode;
    }

    // ---------------------------------------------------------------------------------------
    // Ghost model
    // ---------------------------------------------------------------------------------------

    function _signNext(uint256 chanSeed, uint256 kind, uint256 a, uint256 b) internal {
        if (_chans.length == 0) return;
        uint256 ci = chanSeed % _chans.length;
        Chan storage c = _chans[ci];
        if (c.phase == IAdjudicator.Phase.Concluded) return;
        GState[] storage hist = _history[ci];
        GState memory next;
        IAdjudicator.Lock[] memory locks;
        next.honest = true;
        if (hist.length != 0) {
            if (hist[hist.length - 1].isFinal) return; // nobody signs after a final state
            next = hist[hist.length - 1];
            locks = _locks[ci][hist.length - 1];
        }
        next.nonce = c.nextNonce++;
        if (kind == 0) _addPayment(c, next, locks, a, b);
        else if (kind == 1) _addWithdrawal(c, next, locks, a, b);
        else if (kind == 2) locks = _addLock(c, next, locks, a, b);
        else if (kind == 3) locks = _resolveLocksOffChain(next, locks, false);
        else if (kind == 4) {
            locks = _resolveLocksOffChain(next, locks, true);
            next.isFinal = true;
        } else {
            _garble(c, next, a, b);
            next.honest = false;
            c.tainted = true;
        }
        if (next.honest) {
            for (uint256 asset = 0; asset < 2; ++asset) {
                for (uint256 who = 0; who < 2; ++who) {
                    if (_balanceIn(c, next, locks, asset, who) < 0) _fail("sign: generated an insolvent honest state");
                }
            }
        }
        hist.push(next);
        IAdjudicator.Lock[] storage stored = _locks[ci][hist.length - 1];
        for (uint256 i = 0; i < locks.length; ++i) stored.push(locks[i]);
        succeeded["sign"]++;
        if (next.isFinal) succeeded["signFinal"]++;
        if (locks.length != 0) succeeded["signWithLocks"]++;
    }

    function _fail(string memory why) internal {
        if (violations == 0) firstViolation = why;
        violations++;
    }

    function _msg(string memory prefix, uint256 value) internal pure returns (string memory) {
        return string.concat(prefix, value.toString());
    }

    function _paramsOf(Chan storage c) internal view returns (IAdjudicator.Params memory) {
        return _params(c.salt, c.period);
    }

    function _credit(Chan storage c, uint256 asset, uint256 who, uint256 amount) internal {
        c.deposits[asset][who] += amount;
        _ghostIn[asset] += amount;
    }

    function _refusing(HostileToken.Mode mode) internal pure returns (bool) {
        return mode == HostileToken.Mode.Revert || mode == HostileToken.Mode.ReturnFalse || mode == HostileToken.Mode.BurnGas;
    }

    function _recordNonce(Chan storage c) internal view returns (uint64) {
        if (c.phase == IAdjudicator.Phase.Disputed) return c.regNonce;
        if (c.phase == IAdjudicator.Phase.Concluded) return c.closedNonce;
        return c.checkpoint;
    }

    /// @dev deposits(X) - withdrawn(X) ∓ net - locked(X), the off-chain solvency of `who`.
    function _balanceIn(
        Chan storage c,
        GState memory s,
        IAdjudicator.Lock[] memory locks,
        uint256 asset,
        uint256 who
    ) internal view returns (int256 balance) {
        balance = int256(c.deposits[asset][who]) - int256(s.withdrawn[asset][who]);
        balance += who == 0 ? -s.nets[asset] : s.nets[asset];
        for (uint256 i = 0; i < locks.length; ++i) {
            if (locks[i].assetIndex == asset && locks[i].sender == who) balance -= int256(uint256(locks[i].amount));
        }
    }

    function _addPayment(Chan storage c, GState memory s, IAdjudicator.Lock[] memory locks, uint256 a, uint256 b) internal view {
        uint256 asset = a % 2;
        uint256 from = (a >> 1) % 2;
        int256 balance = _balanceIn(c, s, locks, asset, from);
        if (balance <= 0) return;
        int256 amount = int256(_bound(b, 0, uint256(balance)));
        s.nets[asset] += from == 0 ? amount : -amount;
    }

    function _addWithdrawal(Chan storage c, GState memory s, IAdjudicator.Lock[] memory locks, uint256 a, uint256 b) internal view {
        uint256 asset = a % 2;
        uint256 who = (a >> 1) % 2;
        int256 balance = _balanceIn(c, s, locks, asset, who);
        if (balance <= 0) return;
        s.withdrawn[asset][who] += _bound(b, 0, uint256(balance));
    }

    function _addLock(
        Chan storage c,
        GState memory s,
        IAdjudicator.Lock[] memory locks,
        uint256 a,
        uint256 b
    ) internal view returns (IAdjudicator.Lock[] memory out) {
        if (locks.length >= MAX_LOCKS_PER_STATE) return locks;
        uint256 asset = a % 2;
        uint256 sender = (a >> 1) % 2;
        int256 balance = _balanceIn(c, s, locks, asset, sender);
        if (balance <= 0) return locks;
        out = new IAdjudicator.Lock[](locks.length + 1);
        for (uint256 i = 0; i < locks.length; ++i) out[i] = locks[i];
        uint256 expiresIn = _bound(b >> 128, 0, 2 * uint256(c.period));
        // One lock in eight outlives MAX_LOCK_WAIT: only the wait can resolve it unrevealed.
        if ((b >> 192) % 8 == 7) expiresIn += adjudicator.MAX_LOCK_WAIT() + 4 days;
        out[locks.length] = IAdjudicator.Lock({
            assetIndex: uint8(asset),
            sender: uint8(sender),
            amount: uint128(_bound(b, 1, uint256(balance))),
            hashlock: _hashlock(_secret((a >> 2) % SECRET_COUNT)),
            expiry: uint64(block.timestamp + expiresIn)
        });
    }

    /// @dev Off-chain resolution both sides agree on: revealed in time → receiver, expired → sender;
    /// `all` also cancels the still-pending ones (before a final state).
    function _resolveLocksOffChain(
        GState memory s,
        IAdjudicator.Lock[] memory locks,
        bool all
    ) internal view returns (IAdjudicator.Lock[] memory kept) {
        IAdjudicator.Lock[] memory buffer = new IAdjudicator.Lock[](locks.length);
        uint256 count;
        for (uint256 i = 0; i < locks.length; ++i) {
            IAdjudicator.Lock memory lock = locks[i];
            uint256 revealedAt = _revealedAt[lock.hashlock];
            if (revealedAt != 0 && revealedAt <= lock.expiry) {
                int256 amount = int256(uint256(lock.amount));
                s.nets[lock.assetIndex] += lock.sender == 0 ? amount : -amount;
            } else if (!all && block.timestamp <= lock.expiry) {
                buffer[count++] = lock;
            }
        }
        kept = new IAdjudicator.Lock[](count);
        for (uint256 i = 0; i < count; ++i) kept[i] = buffer[i];
    }

    /// @dev A co-signed state no honest party would sign: arbitrary nets and withdrawals.
    function _garble(Chan storage c, GState memory s, uint256 a, uint256 b) internal view {
        uint256 asset = a % 2;
        uint256 total = c.deposits[asset][0] + c.deposits[asset][1];
        uint256 span = 4 * total + 2;
        s.nets[asset] = int256(_bound(b, 0, span)) - int256(2 * total + 1);
        s.withdrawn[asset][(a >> 1) % 2] = _bound(b >> 100, 0, 2 * total + 1);
        if ((a >> 8) % 16 == 0) s.nets[asset] = int256(type(int128).max) + 1; // malformed
    }

    function _wellFormed(GState memory s) internal pure returns (bool) {
        for (uint256 i = 0; i < 2; ++i) {
            if (s.nets[i] > type(int128).max || s.nets[i] < type(int128).min) return false;
            if (s.withdrawn[i][0] > type(uint128).max || s.withdrawn[i][1] > type(uint128).max) return false;
        }
        return true;
    }

    /// @dev The history's state at 1-based `idx` as the contract's struct; 0: no state (no allocations).
    function _checkpointState(uint256 ci, uint256 idx) internal view returns (IAdjudicator.State memory state) {
        if (idx == 0) return state;
        GState memory g = _history[ci][idx - 1];
        return _state(_chans[ci].id, g.nonce, g.nets, g.withdrawn, _locksRoot(_locks[ci][idx - 1]), g.isFinal);
    }

    /// @dev A state's digest, or zero for one without allocations ("no checkpoint").
    function _digestOrZero(IAdjudicator.State memory state) internal view returns (bytes32) {
        return state.allocations.length == 0 ? bytes32(0) : _digest(state);
    }

    /// @dev Picks a signed state (mostly the latest) and signs it, sometimes wrongly.
    function _prepare(
        uint256 ci,
        uint256 stateSeed,
        uint256 sigMode
    ) internal view returns (bool found, Submission memory sub) {
        GState[] storage hist = _history[ci];
        if (hist.length == 0) return (false, sub);
        sub.idx = stateSeed % 4 != 0 ? hist.length - 1 : (stateSeed >> 8) % hist.length;
        sub.g = hist[sub.idx];
        sub.locks = _locks[ci][sub.idx];
        sub.state = _state(_chans[ci].id, sub.g.nonce, sub.g.nets, sub.g.withdrawn, _locksRoot(sub.locks), sub.g.isFinal);
        sub.valid = _wellFormed(sub.g) && !(sub.g.isFinal && sub.locks.length != 0);
        uint256 mode = sigMode % 16;
        if (mode == 12) {
            sub.state.channelId = keccak256(abi.encode(sub.state.channelId)); // another channel
            sub.valid = false;
        }
        sub.sig0 = _sign(PK0, sub.state);
        sub.sig1 = _sign(PK1, sub.state);
        if (mode == 13) {
            sub.sig0 = _highSTwin(sub.sig0);
            sub.valid = false;
        } else if (mode == 14) {
            (sub.sig0, sub.sig1) = (sub.sig1, sub.sig0);
            sub.valid = false;
        } else if (mode == 15) {
            sub.sig1 = _sign(PK_EVE, sub.state);
            sub.valid = false;
        }
        return (true, sub);
    }

    /// @dev The adjudicator's withdrawal rule: never decrease a cumulative withdrawal, and leave each
    /// side enough to cover the state's net and what its locks reserve (a participant may withdraw
    /// what it received).
    function _withdrawalAllowed(Chan storage c, Submission memory sub) internal view returns (bool) {
        if (!sub.valid || c.phase != IAdjudicator.Phase.Open || sub.g.isFinal || sub.g.nonce <= c.checkpoint) return false;
        for (uint256 asset = 0; asset < 2; ++asset) {
            int256[2] memory remaining;
            for (uint256 who = 0; who < 2; ++who) {
                uint256 w = sub.g.withdrawn[asset][who];
                if (w < c.paid[asset][who]) return false;
                remaining[who] = int256(c.deposits[asset][who]) - int256(w);
            }
            for (uint256 i = 0; i < sub.locks.length; ++i) {
                if (sub.locks[i].assetIndex == asset) remaining[sub.locks[i].sender] -= int256(uint256(sub.locks[i].amount));
            }
            if (remaining[0] - sub.g.nets[asset] < 0 || remaining[1] + sub.g.nets[asset] < 0) return false;
        }
        return true;
    }

    function _applyWithdrawal(Chan storage c, Submission memory sub, Snap memory before) internal {
        uint256[2][2] memory expected;
        for (uint256 asset = 0; asset < 2; ++asset) {
            for (uint256 who = 0; who < 2; ++who) {
                expected[asset][who] = sub.g.withdrawn[asset][who] - c.paid[asset][who];
                c.paid[asset][who] = sub.g.withdrawn[asset][who];
            }
        }
        c.checkpoint = sub.g.nonce;
        c.checkpointIdx = sub.idx + 1;
        _checkFlows(before, expected, "withdraw");
    }

    function _registered(Chan storage c, uint256 regIdx, uint64 nonce) internal {
        uint64 answerBy = uint64(block.timestamp) + c.period;
        c.phase = IAdjudicator.Phase.Disputed;
        c.regNonce = nonce;
        c.regIdx = regIdx;
        if (answerBy > c.deadline) c.deadline = answerBy;
    }

    /// @dev Lock outcomes as the spec defines them, from the ghost's own record of reveal times: a lock
    /// revealed by its expiry goes to its receiver; any other lock goes back to its sender once it has
    /// expired or `MAX_LOCK_WAIT` has passed since `deadline` (`waited`: some lock needed the wait).
    function _lockShifts(
        IAdjudicator.Lock[] memory locks,
        uint256 deadline
    ) internal view returns (int256[2] memory shifts, bool resolved, bool waited) {
        resolved = true;
        bool waitOver = block.timestamp > deadline + adjudicator.MAX_LOCK_WAIT();
        for (uint256 i = 0; i < locks.length; ++i) {
            IAdjudicator.Lock memory lock = locks[i];
            uint256 revealedAt = _revealedAt[lock.hashlock];
            if (revealedAt != 0 && revealedAt <= lock.expiry) {
                int256 amount = int256(uint256(lock.amount));
                shifts[lock.assetIndex] += lock.sender == 0 ? amount : -amount;
            } else if (block.timestamp <= lock.expiry) {
                if (waitOver) waited = true;
                else resolved = false;
            }
        }
    }

    /// @dev The channel concluded with `nets` (+ lock `shifts`): check every participant got exactly its share.
    function _concluded(uint256 ci, Snap memory before, int256[2] memory nets, int256[2] memory shifts, uint64 nonce) internal {
        Chan storage c = _chans[ci];
        uint256[2][2] memory expected;
        for (uint256 asset = 0; asset < 2; ++asset) {
            int256 available0 = int256(c.deposits[asset][0]) - int256(c.paid[asset][0]);
            int256 available1 = int256(c.deposits[asset][1]) - int256(c.paid[asset][1]);
            int256 netEff = nets[asset] + shifts[asset];
            (expected[asset][0], expected[asset][1]) = _referenceSplitSigned(available0, available1, netEff);
            if (!c.tainted) {
                // Every state was honest: each side is owed deposits - withdrawals ∓ net exactly, no clamping.
                int256 owed0 = available0 - netEff;
                int256 owed1 = available1 + netEff;
                if (owed0 < 0 || owed1 < 0) _fail(_msg("conclude: an honest state left a negative share, channel ", ci));
                else if (uint256(owed0) != expected[asset][0] || uint256(owed1) != expected[asset][1]) {
                    _fail(_msg("conclude: an honest share was clamped, channel ", ci));
                }
            }
            c.payouts[asset] = expected[asset];
        }
        c.phase = IAdjudicator.Phase.Concluded;
        c.closedNonce = nonce;
        c.deadline = 0;
        _checkFlows(before, expected, "conclude");
    }

    function _snap() internal view returns (Snap memory s) {
        for (uint256 asset = 0; asset < 2; ++asset) {
            IERC20 token = IERC20(_token(asset));
            for (uint256 who = 0; who < 2; ++who) {
                address holder = _participant(who);
                s.balance[asset][who] = token.balanceOf(holder);
                s.claimable[asset][who] = adjudicator.claimableOf(address(token), holder);
            }
        }
    }

    /// @dev Each participant received exactly `expected` (pushed, or claimable when the token refused).
    function _checkFlows(Snap memory before, uint256[2][2] memory expected, string memory what) internal {
        Snap memory afterwards = _snap();
        for (uint256 asset = 0; asset < 2; ++asset) {
            for (uint256 who = 0; who < 2; ++who) {
                uint256 pushed = afterwards.balance[asset][who] - before.balance[asset][who];
                uint256 deferred = afterwards.claimable[asset][who] - before.claimable[asset][who];
                if (pushed + deferred != expected[asset][who]) {
                    _fail(string.concat(what, ": paid ", (pushed + deferred).toString(), " instead of ", expected[asset][who].toString()));
                }
                bool mustDefer = asset == 1 && _refusing(hostileMode);
                if (mustDefer && pushed != 0) _fail(string.concat(what, ": a refusing token paid out"));
                if (!mustDefer && deferred != 0) _fail(string.concat(what, ": a payable payout was deferred"));
                _ghostClaimable[asset][who] += deferred;
                _ghostOut[asset] += pushed;
            }
        }
    }

    /// @dev Compares every channel's on-chain record with the model; nonces must never decrease.
    function _observe() internal {
        for (uint256 i = 0; i < _chans.length; ++i) {
            Chan storage c = _chans[i];
            (IAdjudicator.Phase phase, uint64 nonce, uint64 deadline) = adjudicator.channel(c.id);
            if (nonce < c.lastSeenNonce) _fail(_msg("observe: nonce decreased, channel ", i));
            if (nonce < c.checkpoint) _fail(_msg("observe: nonce below the checkpoint, channel ", i));
            c.lastSeenNonce = nonce;
            if (phase != c.phase) _fail(_msg("observe: phase differs from the model, channel ", i));
            if (nonce != _recordNonce(c)) _fail(_msg("observe: nonce differs from the model, channel ", i));
            uint64 expectedDeadline = c.phase == IAdjudicator.Phase.Disputed ? c.deadline : 0;
            if (deadline != expectedDeadline) _fail(_msg("observe: deadline differs from the model, channel ", i));
        }
    }
}
