// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Adjudicator} from "../../Adjudicator.sol";
import {IAdjudicator} from "../../interfaces/IAdjudicator.sol";
import {TestERC20} from "../../mocks/TestERC20.sol";
import {HostileToken} from "../../mocks/HostileToken.sol";

/// @notice The few Foundry-compatible cheatcodes that Hardhat 3's EDR implements and these tests use.
/// Declared here because forge-std is deliberately not a dependency; the name is Foundry's.
// solhint-disable-next-line interface-starts-with-i
interface Vm {
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);

    function addr(uint256 privateKey) external pure returns (address);

    function warp(uint256 newTimestamp) external;

    function prank(address sender) external;
}

/// @notice Shared world for the adjudicator's Solidity tests: an adjudicator, a plain ERC-20 (asset 0),
/// a HostileToken (asset 1), two participants whose keys the test holds, and an outsider.
/// States are hashed here independently of `Adjudicator.stateDigest` (EIP-712 written out by hand),
/// so a signature made here is valid only if the contract's encoding agrees with the spec.
abstract contract ChannelTestBase {
    // solhint-disable-next-line const-name-snakecase
    Vm internal constant vm = Vm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);

    uint256 internal constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    uint256 internal constant PK0 = 0xA11CE;
    uint256 internal constant PK1 = 0xB0B;
    uint256 internal constant PK_EVE = 0xE7E;

    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant ALLOCATION_TYPEHASH =
        keccak256("Allocation(address token,int256 net,uint256 withdrawn0,uint256 withdrawn1)");
    bytes32 internal constant STATE_TYPEHASH =
        keccak256(
            "State(bytes32 channelId,uint64 nonce,Allocation[] allocations,bytes32 locksRoot,bool isFinal)"
            "Allocation(address token,int256 net,uint256 withdrawn0,uint256 withdrawn1)"
        );

    Adjudicator internal adjudicator;
    TestERC20 internal plain;
    HostileToken internal hostile;
    address internal p0;
    address internal p1;
    address internal eve;

    function _deployWorld() internal {
        adjudicator = new Adjudicator();
        plain = new TestERC20("Plain", "PLN");
        hostile = new HostileToken();
        p0 = vm.addr(PK0);
        p1 = vm.addr(PK1);
        eve = vm.addr(PK_EVE);
        address[3] memory everyone = [p0, p1, eve];
        for (uint256 i = 0; i < 3; ++i) {
            vm.prank(everyone[i]);
            plain.approve(address(adjudicator), type(uint256).max);
            vm.prank(everyone[i]);
            hostile.approve(address(adjudicator), type(uint256).max);
        }
    }

    function _token(uint256 assetIndex) internal view returns (address) {
        return assetIndex == 0 ? address(plain) : address(hostile);
    }

    function _participant(uint256 index) internal view returns (address) {
        return index == 0 ? p0 : p1;
    }

    function _mint(address to, uint256 assetIndex, uint256 amount) internal {
        if (assetIndex == 0) plain.mint(to, amount);
        else hostile.mint(to, amount);
    }

    function _params(bytes32 salt, uint64 challengePeriod) internal view returns (IAdjudicator.Params memory params) {
        params.participants = [p0, p1];
        params.assets = new address[](2);
        params.assets[0] = address(plain);
        params.assets[1] = address(hostile);
        params.challengePeriod = challengePeriod;
        params.salt = salt;
    }

    /// @dev channelId = keccak256(abi.encode(chainid, adjudicator, params)), docs/protocol.md.
    function _channelId(IAdjudicator.Params memory params) internal view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(adjudicator), params));
    }

    function _state(
        bytes32 channelId,
        uint64 nonce,
        int256[2] memory nets,
        uint256[2][2] memory withdrawn,
        bytes32 locksRoot,
        bool isFinal
    ) internal view returns (IAdjudicator.State memory state) {
        state.channelId = channelId;
        state.nonce = nonce;
        state.allocations = new IAdjudicator.Allocation[](2);
        for (uint256 i = 0; i < 2; ++i) {
            state.allocations[i] = IAdjudicator.Allocation({
                token: _token(i),
                net: nets[i],
                withdrawn0: withdrawn[i][0],
                withdrawn1: withdrawn[i][1]
            });
        }
        state.locksRoot = locksRoot;
        state.isFinal = isFinal;
    }

    /// @dev What `withdraw` takes as the checkpoint before the first withdrawal: no allocations.
    function _noCheckpoint() internal pure returns (IAdjudicator.State memory none) {}

    /// @dev The EIP-712 digest of `state`, computed without the adjudicator's help.
    function _digest(IAdjudicator.State memory state) internal view returns (bytes32) {
        bytes32 domainSeparator = keccak256(
            abi.encode(
                DOMAIN_TYPEHASH,
                keccak256("Clearline Adjudicator"),
                keccak256("1"),
                block.chainid,
                address(adjudicator)
            )
        );
        bytes32[] memory allocationHashes = new bytes32[](state.allocations.length);
        for (uint256 i = 0; i < state.allocations.length; ++i) {
            IAdjudicator.Allocation memory a = state.allocations[i];
            allocationHashes[i] = keccak256(abi.encode(ALLOCATION_TYPEHASH, a.token, a.net, a.withdrawn0, a.withdrawn1));
        }
        bytes32 structHash = keccak256(
            abi.encode(
                STATE_TYPEHASH,
                state.channelId,
                state.nonce,
                keccak256(abi.encodePacked(allocationHashes)),
                state.locksRoot,
                state.isFinal
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash));
    }

    /// @dev 65-byte r‖s‖v signature; Foundry's `sign` is RFC 6979 and low-s.
    function _sign(uint256 privateKey, IAdjudicator.State memory state) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(privateKey, _digest(state));
        return abi.encodePacked(r, s, v);
    }

    /// @dev The malleable twin of a low-s signature: same signer, s' = n - s, v flipped.
    function _highSTwin(bytes memory signature) internal pure returns (bytes memory) {
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            r := mload(add(signature, 0x20))
            s := mload(add(signature, 0x40))
            v := byte(0, mload(add(signature, 0x60)))
        }
        return abi.encodePacked(r, bytes32(SECP256K1_N - uint256(s)), v == 27 ? uint8(28) : uint8(27));
    }

    function _locksRoot(IAdjudicator.Lock[] memory locks) internal pure returns (bytes32) {
        return locks.length == 0 ? bytes32(0) : keccak256(abi.encode(locks));
    }

    /// @dev Reference split (docs/protocol.md "Balances"): payout0 = clamp(available0 - net, 0, total).
    function _referenceSplit(
        uint256 available0,
        uint256 available1,
        int256 net
    ) internal pure returns (uint256 payout0, uint256 payout1) {
        return _referenceSplitSigned(int256(available0), int256(available1), net);
    }

    /// @dev The split with signed holdings (a side is negative after withdrawing received funds).
    function _referenceSplitSigned(
        int256 available0,
        int256 available1,
        int256 net
    ) internal pure returns (uint256 payout0, uint256 payout1) {
        uint256 total = uint256(available0 + available1);
        int256 owed0 = available0 - net;
        if (owed0 < 0) payout0 = 0;
        else if (uint256(owed0) > total) payout0 = total;
        else payout0 = uint256(owed0);
        payout1 = total - payout0;
    }

    function _bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        if (hi <= lo) return lo;
        uint256 width = hi - lo;
        if (width == type(uint256).max) return x;
        return lo + (x % (width + 1));
    }

    function _secret(uint256 index) internal pure returns (bytes32) {
        return keccak256(abi.encode("clearline secret", index));
    }

    function _hashlock(bytes32 secret) internal pure returns (bytes32) {
        return keccak256(abi.encode(secret));
    }
}
